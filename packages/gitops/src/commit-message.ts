import { GitOpsError } from "./errors.ts";

export const JOB_ID_TRAILER = "Vwksp-Job-Id";
export const IDEMPOTENCY_KEY_TRAILER = "Vwksp-Idempotency-Key";

/** Job ids and idempotency keys are one printable token each, so a trailer line is unambiguous. */
const TOKEN = /^[\x21-\x7e]{1,200}$/;

export interface CommitRequest {
  jobId: string;
  idempotencyKey: string;
  /** The subject line; defaults to a description of the change. */
  summary?: string | undefined;
}

/** The trailer a re-run looks for to find the commit of an earlier attempt of the same job. */
export const idempotencyTrailer = (idempotencyKey: string) => `${IDEMPOTENCY_KEY_TRAILER}: ${idempotencyKey}`;

/** `<subject>`, a blank line, then trailers naming the job and its idempotency key. */
export function commitMessage(request: CommitRequest, defaultSummary: string): string {
  if (!TOKEN.test(request.jobId) || !TOKEN.test(request.idempotencyKey)) {
    throw new GitOpsError(
      "InvalidRequest",
      "jobId and idempotencyKey must be 1–200 printable characters without spaces",
    );
  }
  const subject = (request.summary ?? defaultSummary).replace(/\s+/g, " ").trim().slice(0, 200);
  return `${subject}\n\n${JOB_ID_TRAILER}: ${request.jobId}\n${idempotencyTrailer(request.idempotencyKey)}\n`;
}
