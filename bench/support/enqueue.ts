import { performance } from "node:perf_hooks";
import { createApiDeps } from "../../apps/api/src/deps.ts";
import type { Actor, Config } from "../../packages/core/src/index.ts";
import { CreateJobBody } from "../../packages/protocol/src/index.ts";
import type { Tracked } from "./agents.ts";
import { BENCH_ADMIN_KEY } from "./fixtures.ts";
import type { HttpClient } from "./http.ts";

export type EnqueueMode = "http" | "service";

/** A small raw `apply` job whose manifest name identifies it to the simulated agents. */
export const jobBody = (name: string) => ({
  kind: "apply" as const,
  payload: {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "default" },
    data: { bench: "true" },
  },
});

/**
 * The admin path that queues a job: `POST /api/v1/clusters/{id}/jobs` on the API process
 * (default, as Odoo and admins do it), or the jobs service's `createRaw` in this process.
 */
export function createEnqueuer(options: {
  mode: EnqueueMode;
  client: HttpClient;
  config: Config;
  actor: Actor;
  tracked: Map<string, Tracked>;
}) {
  const { mode, client, actor, tracked } = options;
  const deps = mode === "service" ? createApiDeps(options.config) : undefined;
  const headers = { authorization: `Bearer ${BENCH_ADMIN_KEY}`, "content-type": "application/json" };
  let failures = 0;

  async function enqueue(clusterId: string, name: string): Promise<void> {
    const track: Tracked = { enqueueStart: performance.now(), deliveries: 0 };
    tracked.set(name, track);
    try {
      if (deps) {
        await deps.jobs.createRaw(actor, clusterId, CreateJobBody.parse(jobBody(name)));
      } else {
        const response = await client.request(
          "POST",
          `/api/v1/clusters/${clusterId}/jobs`,
          headers,
          JSON.stringify(jobBody(name)),
        );
        if (response.status !== 202) throw new Error(`enqueue: ${response.status} ${response.body}`);
      }
      track.enqueueEnd = performance.now();
    } catch {
      failures += 1;
      tracked.delete(name);
    }
  }

  return {
    enqueue,
    failures: () => failures,
    close: async () => deps?.close(),
  };
}
