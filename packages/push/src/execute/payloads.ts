import { z } from "zod";

/** A job payload the executor cannot act on: the job fails with this message. */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

export const Manifest = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
});
export type Manifest = z.infer<typeof Manifest>;

export const DeletePayload = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
});
export type DeletePayload = z.infer<typeof DeletePayload>;

export const INTENTS = [
  "ensure-application-instance",
  "request-operation",
  "delete-application-instance",
] as const;

export const IntentPayload = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("ensure-application-instance"), applicationInstance: Manifest }),
  z.object({ intent: z.literal("request-operation"), operation: Manifest }),
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
