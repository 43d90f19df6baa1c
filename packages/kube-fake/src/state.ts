import type { FaultRegistry } from "./faults.ts";
import type { FakeUser } from "./rbac.ts";
import type { ResourceCatalog } from "./resources.ts";
import type { ObjectStore } from "./store.ts";
import type { Deviations } from "./strategy.ts";
import type { WatchHub } from "./watch.ts";

/** One request as the stand-in received it, for tests to inspect. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  userAgent: string | undefined;
  /** The body parsed (JSON, or YAML for apply patches); undefined when empty or unparsable. */
  body: unknown;
  /** The authenticated user, once known. */
  user?: string;
  /** The status code answered (200 for a watch), once answered. */
  code?: number;
}

/** Everything a request handler reaches. */
export interface ServerState {
  catalog: ResourceCatalog;
  store: ObjectStore;
  watches: WatchHub;
  faults: FaultRegistry;
  users: Map<string, FakeUser>;
  requests: RecordedRequest[];
  deviations: Deviations;
  gitVersion: string;
  watchTimeoutMs: number;
  now: () => Date;
  newUid: () => string;
}
