import {
  type AgentEvent,
  AgentJob,
  type JobResultBody,
  type JobStatusBody,
  RotateResponse,
} from "@vwksp/protocol";
import { z } from "zod";
import { ProtocolError } from "../errors.ts";
import { type AgentRequest, agentRequest, type Fetch } from "./http.ts";

export interface AgentClientOptions {
  baseUrl: string;
  clusterId: string;
  /** Read per request, so a rotated credential is used at once. */
  token: () => string;
  fetch?: Fetch;
  now?: () => Date;
}

/** A delivered job the schema refuses; it still has an id, so it can be answered `failed`. */
export interface RejectedJob {
  id: string;
  problem: string;
}

export interface PollResult {
  jobs: AgentJob[];
  rejected: RejectedJob[];
}

const PollEnvelope = z.object({ jobs: z.array(z.unknown()) });

/** The agent half of the wire protocol; every answer is checked against the shared schemas. */
export function createAgentClient(options: AgentClientOptions) {
  const send = (request: Omit<AgentRequest, "token">) =>
    agentRequest(options.baseUrl, { ...request, token: options.token() }, options.fetch, options.now);
  const jobPath = (jobId: string, action: string) => `/api/agent/jobs/${encodeURIComponent(jobId)}/${action}`;

  function expectStatus(actual: number, expected: number, what: string) {
    // The contract lists exact success codes; any other 2xx is as wrong as a 500.
    if (actual !== expected) throw new ProtocolError(`${what}: expected HTTP ${expected}, got ${actual}`);
  }

  return {
    async pollJobs(waitSeconds: number, signal?: AbortSignal): Promise<PollResult> {
      const query = new URLSearchParams({ cluster: options.clusterId, wait: String(waitSeconds) });
      const response = await send({ method: "GET", path: `/api/agent/jobs?${query}`, signal });
      expectStatus(response.status, 200, "poll");
      const envelope = PollEnvelope.safeParse(response.json);
      if (!envelope.success) throw new ProtocolError("poll: the answer is not {jobs: [...]}");
      // One malformed job must not make the whole batch (and every later poll) unusable.
      const result: PollResult = { jobs: [], rejected: [] };
      for (const item of envelope.data.jobs) {
        const parsed = AgentJob.safeParse(item);
        if (parsed.success) result.jobs.push(parsed.data);
        else {
          const id = (item as { id?: unknown } | null)?.id;
          if (typeof id === "string" && id.length > 0) {
            result.rejected.push({ id, problem: z.prettifyError(parsed.error).replaceAll("\n", " ") });
          }
        }
      }
      return result;
    },

    /** `closed` is the 409 of a job that already has a result (or was cancelled). */
    async ack(jobId: string): Promise<"acked" | "closed"> {
      try {
        const response = await send({ method: "POST", path: jobPath(jobId, "ack") });
        expectStatus(response.status, 204, "ack");
        return "acked";
      } catch (error) {
        if (isStatus(error, 409)) return "closed";
        throw error;
      }
    },

    async status(jobId: string, body: JobStatusBody): Promise<void> {
      const response = await send({ method: "POST", path: jobPath(jobId, "status"), body });
      expectStatus(response.status, 204, "status");
    },

    /** `duplicate` is the 409 of a result already recorded: the job is done either way. */
    async result(jobId: string, body: JobResultBody): Promise<"recorded" | "duplicate"> {
      try {
        const response = await send({ method: "POST", path: jobPath(jobId, "result"), body });
        expectStatus(response.status, 204, "result");
        return "recorded";
      } catch (error) {
        if (isStatus(error, 409)) return "duplicate";
        throw error;
      }
    },

    async postEvents(events: AgentEvent[], signal?: AbortSignal): Promise<void> {
      const response = await send({ method: "POST", path: "/api/agent/events", body: { events }, signal });
      expectStatus(response.status, 204, "events");
    },

    async rotate(): Promise<RotateResponse> {
      const response = await send({ method: "POST", path: "/api/agent/credentials/rotate", body: {} });
      expectStatus(response.status, 200, "rotate");
      const parsed = RotateResponse.safeParse(response.json);
      if (!parsed.success || parsed.data.token.trim() === "") {
        throw new ProtocolError("rotate: the answer carries no token");
      }
      return { ...parsed.data, token: parsed.data.token.trim() };
    },
  };
}

export type AgentClient = ReturnType<typeof createAgentClient>;

export const isStatus = (error: unknown, status: number) =>
  typeof error === "object" && error !== null && (error as { status?: unknown }).status === status;
