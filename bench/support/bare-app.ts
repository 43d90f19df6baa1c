// fastify is a dependency of apps/api, not of the repository root: import it from there (the
// same copy the API runs on).
import Fastify from "../../apps/api/node_modules/fastify/fastify.js";
import { BODY_LIMIT_BYTES } from "../../apps/api/src/app.ts";
import { AGENT_MEDIA_TYPE } from "../../packages/protocol/src/index.ts";

/**
 * The floor a heartbeat endpoint is compared with: a Fastify instance with one POST route at the
 * same path that answers 204 to the same body. It parses the agent media type with Fastify's own
 * JSON parser, as the API's content-type handling does (apps/api/src/http/content-types.ts), and
 * has the API's body limit and keep-alive timeout; nothing else — no logger, no request ids, no
 * hooks, no schema validation, no authentication.
 */
export async function buildBareApp(path: string) {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, keepAliveTimeout: 65_000 });
  const parseJson = app.getDefaultJsonParser("error", "remove");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ["application/json", AGENT_MEDIA_TYPE],
    { parseAs: "string" },
    (request, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text.trim().length === 0) return done(null, undefined);
      parseJson(request, text, done);
    },
  );
  app.post(path, async (_request, reply) => reply.code(204).send());
  await app.ready();
  return app;
}
