import type { Clock } from "../clock.ts";
import type { AuditSource, Db, Prisma } from "../db.ts";
import { redactDeep } from "../redact.ts";

export interface AuditInput {
  source: AuditSource;
  kind: string;
  actor: string;
  organizationId?: string | null;
  clusterId?: string | null;
  data?: Record<string, unknown>;
}

/** Any client that can write rows: the Db itself or a transaction. */
export type DbWriter = Pick<Db, "auditEntry">;

export function auditRow(input: AuditInput, at: Date): Prisma.AuditEntryCreateManyInput {
  return {
    source: input.source,
    kind: input.kind,
    actor: input.actor,
    organizationId: input.organizationId ?? null,
    clusterId: input.clusterId ?? null,
    // Defence in depth: nothing token-shaped is ever stored in the trail.
    data: (redactDeep(input.data ?? {}) ?? {}) as Prisma.InputJsonValue,
    createdAt: at,
  };
}

export function createAuditService({ db, clock }: { db: Db; clock: Clock }) {
  /** Records one entry; pass a transaction client to make it part of a larger change. */
  async function record(input: AuditInput, writer: DbWriter = db) {
    await writer.auditEntry.createMany({ data: [auditRow(input, clock.now())] });
  }

  async function recordMany(inputs: AuditInput[], writer: DbWriter = db) {
    if (inputs.length === 0) return;
    const at = clock.now();
    await writer.auditEntry.createMany({ data: inputs.map((input) => auditRow(input, at)) });
  }

  return { record, recordMany };
}

export type AuditService = ReturnType<typeof createAuditService>;
