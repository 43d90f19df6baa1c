import { z } from "zod";

/** The agent protocol's media type; JSON with a vendor name. */
export const AGENT_MEDIA_TYPE = "application/vnd.vworkspace.agent.v1+json";

/** The body of every non-2xx answer. */
export const ErrorEnvelope = z
  .object({
    error: z.string().describe("short machine code, e.g. not_found"),
    message: z.string().describe("human readable explanation"),
    requestId: z.string().describe("id of the request, also in the server's logs"),
  })
  .meta({ id: "ErrorEnvelope" });
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/** RFC 3339 time with offset and any fractional precision (Go marshals nanoseconds). */
export const Rfc3339 = z.iso.datetime({ offset: true });

/** Kubernetes `metav1.Condition`. Go sends `lastTransitionTime: null` for a zero time. */
export const Condition = z
  .object({
    type: z.string().min(1).max(316),
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string().max(1024).optional(),
    message: z.string().max(32_768).optional(),
    lastTransitionTime: Rfc3339.nullable().optional(),
    observedGeneration: z.number().int().min(0).optional(),
  })
  .meta({ id: "Condition" });
export type Condition = z.infer<typeof Condition>;

/** A Kubernetes object reference as the operator sends it (`AppliedRef` in its client). */
export const ObjectRef = z
  .object({
    apiVersion: z.string().max(253),
    kind: z.string().max(128),
    namespace: z.string().max(253).optional(),
    name: z.string().max(253),
    uid: z.string().max(128).optional(),
    generation: z.number().int().min(0).optional(),
  })
  .meta({ id: "ObjectRef" });
export type ObjectRef = z.infer<typeof ObjectRef>;

/** DNS-1123 label: lowercase alphanumerics and '-', 1–63 characters, alphanumeric at both ends. */
export const DnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label (a-z, 0-9, '-')");

/** Opaque pagination cursor. */
export const Cursor = z.string().max(200);

/**
 * Admin request bodies and queries are strict: an unknown field is a 400 naming it, so a typo
 * (`allowedNamespace`) is never silently ignored. (The agent API stays tolerant: the Go client
 * adds fields across versions.) Queries built on PageQuery inherit this through `.extend`.
 */
export const PageQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(50)
    .meta({ description: "page size, 1–500", examples: [50] }),
  cursor: Cursor.optional().meta({
    description: "the previous page's nextCursor; leave out for the first page",
    examples: ["eyJpZCI6IjkxMzM3NyJ9"],
  }),
});

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
