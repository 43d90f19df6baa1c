import { type AgentPrincipal, AuthenticationRefused, unauthorized } from "@vwksp/core";
import type { FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { bearerToken } from "./bearer.ts";

declare module "fastify" {
  interface FastifyRequest {
    agent?: AgentPrincipal;
  }
}

/** preHandler: the request carries a live agent credential (401/403/429 otherwise). */
export function authenticateAgent(deps: ApiDeps) {
  return async (request: FastifyRequest) => {
    deps.failureLimiter.check(request.ip);
    try {
      request.agent = await deps.credentials.authenticate(bearerToken(request));
      deps.heartbeats.seen(request.agent.clusterId);
    } catch (error) {
      if (error instanceof AuthenticationRefused)
        await deps.failureLimiter.recordFailure(request.ip, request.log);
      throw error;
    }
  };
}

export function agentOf(request: FastifyRequest): AgentPrincipal {
  if (!request.agent) throw unauthorized();
  return request.agent;
}
