import { z } from "zod";
import { Condition, ObjectRef, Rfc3339 } from "./common.ts";

// The agent wire protocol (docs/agent-protocol.md). Unknown request fields are tolerated
// (zod strips them); only documented constraints are enforced.

// No length limits of our own on these (the 1 MiB body limit bounds them): the contract answers a
// malformed token with 401 and any clusterId but the bound one with 403, whatever its shape.
// displayName is accepted and not used (the admin names the cluster identity).
export const RegisterBody = z
  .object({
    registrationToken: z.string().optional(),
    clusterId: z.string().optional(),
    displayName: z.string().optional(),
  })
  .meta({ id: "RegisterBody" });
export type RegisterBody = z.infer<typeof RegisterBody>;

export const RegisterResponse = z
  .object({
    clusterId: z.string(),
    token: z.string(),
    expiresAt: Rfc3339.optional(),
    signingPublicKey: z.string().optional(),
    /** Whether this cluster's jobs are signed, so an agent can insist on signatures. */
    signPayloads: z.boolean().optional(),
  })
  .meta({ id: "RegisterResponse" });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

export const RotateResponse = z
  .object({ token: z.string(), expiresAt: Rfc3339.optional() })
  .meta({ id: "RotateResponse" });
export type RotateResponse = z.infer<typeof RotateResponse>;

export const MAX_WAIT_SECONDS = 300;
/**
 * How long a poll is really held at most. Clients time out at 300 s (the Go operator's total
 * timeout, Node's fetch header timeout), so a 300 s hold would race them: answer a bit earlier.
 */
export const MAX_HOLD_SECONDS = 290;
export const DEFAULT_WAIT_SECONDS = 30;

export const JobsQuery = z.object({
  // Any value but the credential's cluster is a 403, whatever its shape or length.
  cluster: z
    .string()
    .min(1)
    .meta({ description: "the credential's cluster id", examples: ["3f2b8c71-9a4e-4d6b-8e15-7c0a2d9f6b43"] }),
  // A non-integer or negative wait is a 400; larger than 300 is clamped, not refused.
  wait: z
    .string()
    .regex(/^\d{1,9}$/, "wait must be a non-negative integer number of seconds")
    .meta({
      description:
        "seconds to hold the poll while no job is ready (long poll): default 30, 0 answers at once, more than 300 counts as 300 (held 290 at most)",
      examples: ["30"],
    })
    .transform((value) => Math.min(Number(value), MAX_WAIT_SECONDS))
    .optional(),
});
export type JobsQuery = z.infer<typeof JobsQuery>;

export const JobKind = z.enum(["apply", "delete", "intent"]);
export type JobKind = z.infer<typeof JobKind>;

export const AgentJob = z
  .object({
    id: z.string(),
    kind: JobKind,
    payload: z.record(z.string(), z.unknown()),
    idempotencyKey: z.string(),
    createdAt: Rfc3339,
    expiresAt: Rfc3339,
    signature: z.string().optional(),
  })
  .meta({ id: "AgentJob" });
export type AgentJob = z.infer<typeof AgentJob>;

export const JobsResponse = z.object({ jobs: z.array(AgentJob) }).meta({ id: "JobsResponse" });
export type JobsResponse = z.infer<typeof JobsResponse>;

// Any id shape is looked up (unknown → 404), so the bound is generous.
export const JobIdParams = z.object({
  jobId: z
    .string()
    .max(1000)
    .meta({ description: "the id of a job this agent received", examples: ["j-01JTQ8Z6V4K2N9M3B7C5X1R0PD"] }),
});

export const JobStatusBody = z
  .object({
    phase: z.string().min(1).max(128),
    conditions: z.array(Condition).max(100).nullable().optional(),
    message: z.string().max(32_768).optional(),
    timestamp: Rfc3339.optional(),
  })
  .meta({ id: "JobStatusBody" });
export type JobStatusBody = z.infer<typeof JobStatusBody>;

export const JobOutcome = z.enum(["succeeded", "failed", "noop", "conflict"]);
export type JobOutcome = z.infer<typeof JobOutcome>;

export const JobResultBody = z
  .object({
    outcome: JobOutcome,
    error: z.string().max(32_768).optional(),
    appliedRef: ObjectRef.nullable().optional(),
    timestamp: Rfc3339.optional(),
  })
  .refine((body) => !(body.outcome === "failed" || body.outcome === "conflict") || !!body.error?.trim(), {
    message: "error is required when outcome is failed or conflict",
    path: ["error"],
  })
  .meta({ id: "JobResultBody" });
export type JobResultBody = z.infer<typeof JobResultBody>;

export const HEARTBEAT_KIND = "ClusterHeartbeat";
export const MAX_EVENTS_PER_REQUEST = 1000;

/** Versions our reference agent adds to heartbeats (an extension the Go operator does not send). */
export const ClusterInfo = z
  .object({
    operatorVersion: z.string().max(100).optional(),
    fluxVersion: z.string().max(100).optional(),
    veleroVersion: z.string().max(100).optional(),
    kubernetesVersion: z.string().max(100).optional(),
  })
  .meta({ id: "ClusterInfo" });
export type ClusterInfo = z.infer<typeof ClusterInfo>;

export const AgentEvent = z
  .object({
    eventKey: z.string().max(1024).optional(),
    kind: z.string().min(1).max(128),
    resourceRef: ObjectRef,
    conditions: z.array(Condition).max(100).nullable().optional(),
    timestamp: Rfc3339,
    cluster: ClusterInfo.optional(),
  })
  .meta({ id: "AgentEvent" });
export type AgentEvent = z.infer<typeof AgentEvent>;

// The array length is checked by the route (more than 1,000 events is a 413, not a 400).
export const EventsBody = z.object({ events: z.array(AgentEvent) }).meta({ id: "EventsBody" });
export type EventsBody = z.infer<typeof EventsBody>;
