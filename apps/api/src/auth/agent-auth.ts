import {
  type AgentPrincipal,
  AuthenticationRefused,
  type CredentialsService,
  type HeartbeatCoalescer,
  unauthorized,
} from "@vwksp/core";
import type { FastifyRequest } from "fastify";
import { bearerToken } from "./bearer.ts";
import type { FailureLimiter } from "./failure-limiter.ts";

/** What agent authentication uses, and nothing more. */
export interface AgentAuthDeps {
  credentials: Pick<CredentialsService, "authenticate">;
  heartbeats: Pick<HeartbeatCoalescer, "seen" | "pollRefused">;
  agentFailures: FailureLimiter;
}

declare module "fastify" {
  interface FastifyRequest {
    agent?: AgentPrincipal;
  }
}

/**
 * preHandler: the request carries a live agent credential (401/403/429 otherwise). The credential
 * is checked before anything is counted, so a live one is served whatever its address did. For
 * the job poll (`poll: true`), a refusal of a credential that stopped working is noted for its
 * cluster: heartbeats on a new credential with polls on the old one are a broken job channel.
 */
export function authenticateAgent(deps: AgentAuthDeps, options: { poll?: boolean } = {}) {
  return async (request: FastifyRequest) => {
    try {
      request.agent = await deps.credentials.authenticate(bearerToken(request));
    } catch (error) {
      if (!(error instanceof AuthenticationRefused)) throw error;
      const refused = error.refusedCredential;
      if (options.poll && refused) deps.heartbeats.pollRefused(refused.clusterId, refused.state);
      const identity = refused ? `cluster:${refused.clusterId}` : undefined;
      throw await deps.agentFailures.refuse({ address: request.ip, identity }, error, request.log);
    }
    deps.heartbeats.seen(request.agent.clusterId);
  };
}

export function agentOf(request: FastifyRequest): AgentPrincipal {
  if (!request.agent) throw unauthorized();
  return request.agent;
}
