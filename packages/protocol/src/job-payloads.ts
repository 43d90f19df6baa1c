import { z } from "zod";

// What the payload of an `apply` or `delete` job holds (docs/agent-protocol.md), as both executors
// read it: the agent's (pull mode) and push mode's. Intents are each executor's own.

/** An `apply` job's payload, and the object an intent carries: a Kubernetes manifest. */
export const JobManifest = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
});
export type JobManifest = z.infer<typeof JobManifest>;

/** A `delete` job's payload: the object to delete. */
export const DeleteJobPayload = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
});
export type DeleteJobPayload = z.infer<typeof DeleteJobPayload>;
