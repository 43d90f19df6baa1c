import { RegistrationRefused, toRegisterResponse, toRotateResponse, type VerifiedToken } from "@vwksp/core";
import { RegisterBody, RegisterResponse, RotateResponse } from "@vwksp/protocol";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { agentOf, authenticateAgent } from "../auth/agent-auth.ts";
import { bearerToken } from "../auth/bearer.ts";
import type { ApiDeps } from "../deps.ts";
import { AGENT_WIRE, errorResponses } from "../http/responses.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The registration token of the Authorization header, verified before the body was read. */
    registration?: VerifiedToken;
  }
}

export const registrationRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  /** A refused token counts against the address and the token's lookup id (then 429). */
  const refuse = async (request: FastifyRequest, error: unknown): Promise<never> => {
    if (!(error instanceof RegistrationRefused)) throw error;
    const identity = error.lookupId ? `registration-token:${error.lookupId}` : undefined;
    throw await deps.agentFailures.refuse({ address: request.ip, identity }, error, request.log);
  };

  app.post(
    "/api/agent/register",
    {
      schema: {
        ...AGENT_WIRE,
        operationId: "agentRegister",
        tags: ["agent"],
        summary: "Exchange a one-time registration token for an agent credential",
        description:
          "Called once by the cluster's agent with the registration token (vwksp-reg-…) an admin issued, in the " +
          "Authorization header (Bearer) or the body's registrationToken. Answers the agent credential (vwksp-agt-…) " +
          "it authenticates with from then on.",
        security: [{ agentToken: [] }],
        body: RegisterBody.nullish(),
        response: { 200: RegisterResponse },
      },
      // The operator sends the token in the Authorization header too: checked there, before the
      // body is read, a guess costs no body slot and a valid token never waits for one (the cap
      // on bodies read unauthenticated applies only to requests without a header token).
      onRequest: async (request) => {
        const presented = bearerToken(request);
        if (!presented) return;
        request.registration = await deps.registrationTokens
          .verify(presented)
          .catch((error) => refuse(request, error));
      },
    },
    async (request) => {
      // The body repeats the header's token; an empty body token means "use the header's".
      const token = request.body?.registrationToken?.trim() || bearerToken(request) || "";
      const input = { clusterId: request.body?.clusterId?.trim() || undefined, clientAddress: request.ip };
      // The token is checked before anything is counted: a valid one is served whatever its
      // address did; a refused one counts against the address and the token's lookup id.
      const verified = request.registration;
      const result = await (verified?.token === token
        ? deps.registrationTokens.complete(verified, input)
        : deps.registrationTokens.exchange({ token, ...input })
      ).catch((error: unknown) => refuse(request, error));
      request.log.info(
        { clusterId: result.clusterId, reregistered: result.reregistered },
        result.reregistered ? "cluster re-registered" : "registration token exchanged",
      );
      return toRegisterResponse(result);
    },
  );

  app.post(
    "/api/agent/credentials/rotate",
    {
      schema: {
        ...AGENT_WIRE,
        operationId: "agentRotateCredential",
        tags: ["agent"],
        summary: "Issue a new agent credential; the current one keeps working for a grace period",
        description:
          "Repeating it with the rotated-away credential (an answer that got lost) revokes the successor it got, " +
          "as long as that successor was never used, and issues another; once the successor is in use it is a 409.",
        security: [{ agentToken: [] }],
        response: {
          200: RotateResponse,
          ...errorResponses({
            409: "credential_rotated: this credential was rotated and its successor is in use; authenticate with the successor",
          }),
        },
      },
      onRequest: authenticateAgent(deps),
    },
    async (request) => {
      return toRotateResponse(await deps.credentials.rotate(agentOf(request)));
    },
  );
};
