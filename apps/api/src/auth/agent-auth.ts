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
 * preHandler: the request carries a live agent credential (401/403/429 otherwise). The credential
 * is checked before anything is counted, so a live one is served whatever its address did.
 */
export function authenticateAgent(deps: ApiDeps) {
  return async (request: FastifyRequest) => {
    try {
      request.agent = await deps.credentials.authenticate(bearerToken(request));
    } catch (error) {
      if (!(error instanceof AuthenticationRefused)) throw error;
      const identity = error.clusterId ? `cluster:${error.clusterId}` : undefined;
      throw await deps.agentFailures.refuse({ address: request.ip, identity }, error, request.log);
    }
    deps.heartbeats.seen(request.agent.clusterId);
  };
}

export function agentOf(request: FastifyRequest): AgentPrincipal {
  if (!request.agent) throw unauthorized();
  return request.agent;
}
