import { type AgentPrincipal, AuthenticationRefused, unauthorized } from "@vwksp/core";
import type { FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { bearerToken } from "./bearer.ts";

declare module "fastify" {
  interface FastifyRequest {
    agent?: AgentPrincipal;
  }
}

/**
 * preHandler: the request carries a live agent credential (401/403/429 otherwise). For the job
 * poll (`poll: true`), a refusal of a credential that stopped working is noted for its cluster:
 * heartbeats on a new credential with polls on the old one are a broken job channel.
 */
export function authenticateAgent(deps: ApiDeps, options: { poll?: boolean } = {}) {
  return async (request: FastifyRequest) => {
    deps.failureLimiter.check(request.ip);
    try {
      request.agent = await deps.credentials.authenticate(bearerToken(request));
      deps.heartbeats.seen(request.agent.clusterId);
    } catch (error) {
      if (error instanceof AuthenticationRefused) {
        const refused = error.refusedCredential;
        if (options.poll && refused) deps.heartbeats.pollRefused(refused.clusterId, refused.state);
        await deps.failureLimiter.recordFailure(request.ip, request.log);
      }
      throw error;
    }
  };
}

export function agentOf(request: FastifyRequest): AgentPrincipal {
  if (!request.agent) throw unauthorized();
  return request.agent;
}
