import type { ServerResponse } from "node:http";
import type { Target } from "./objects.ts";
import type { FakeUser } from "./rbac.ts";

/** A request on a resource path, authenticated and authorized, body parsed. */
export interface ResourceRequest {
  method: string;
  target: Target;
  /** Undefined for a collection (list, watch, create, deletecollection). */
  name: string | undefined;
  query: URLSearchParams;
  contentType: string;
  userAgent: string | undefined;
  body: unknown;
  user: FakeUser;
  response: ServerResponse;
}

/** A handler's answer; undefined when it wrote the response itself (a watch). */
export type Answer = { code: number; body: unknown } | undefined;
