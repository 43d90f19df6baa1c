import {
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  JobManifest,
  REQUEST_OPERATION,
} from "@vwksp/protocol";
import { z } from "zod";

/** A job payload the executor cannot act on: the job fails with this message. */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

export const IntentPayload = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal(ENSURE_APPLICATION_INSTANCE), applicationInstance: JobManifest }),
  z.object({ intent: z.literal(REQUEST_OPERATION), operation: JobManifest }),
  z.object({
    intent: z.literal(DELETE_APPLICATION_INSTANCE),
    name: z.string().min(1),
    namespace: z.string().min(1),
  }),
]);
export type IntentPayload = z.infer<typeof IntentPayload>;

export function parsePayload<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidJobError(`${what}: ${z.prettifyError(parsed.error).replaceAll("\n", " ")}`);
  }
  return parsed.data;
}
