import { JobManifest } from "@vwksp/protocol";
import { z } from "zod";

/** A job payload the executor cannot act on: the job fails with this message. */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

export const INTENTS = [
  "ensure-application-instance",
  "request-operation",
  "delete-application-instance",
] as const;

export const IntentPayload = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("ensure-application-instance"), applicationInstance: JobManifest }),
  z.object({ intent: z.literal("request-operation"), operation: JobManifest }),
  z.object({
    intent: z.literal("delete-application-instance"),
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
