import { DomainError } from "@vwksp/core";
import { AGENT_MEDIA_TYPE } from "@vwksp/protocol";
import type { FastifyInstance } from "fastify";

/**
 * The Go operator sends `application/vnd.vworkspace.agent.v1+json`, never `application/json`;
 * a server that only parses `application/json` answers 415 and breaks it. Every route parses
 * both with Fastify's own JSON parser (prototype-poisoning safe). An empty body with a JSON
 * content type counts as no body, so a bodiless POST is accepted whatever its headers.
 */
export function registerContentTypes(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser("error", "remove");
  // JSON only: a text/plain or form body is a 415, not something a handler has to guess about.
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

  // Bodies are read as they come: a compressed one would be parsed as garbage (or, worse, a
  // plain body labelled compressed accepted), so any encoding but identity is refused up front.
  app.addHook("onRequest", async (request) => {
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
    if (!encoding || encoding === "identity") return;
    const hasBody =
      request.headers["transfer-encoding"] !== undefined ||
      Number(request.headers["content-length"] ?? 0) > 0;
    if (!hasBody) return;
    throw new DomainError(
      415,
      "unsupported_media_type",
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send the body uncompressed`,
    );
  });

  // Answers on the agent API carry the agent media type, errors included.
  app.addHook("onSend", async (request, reply, payload) => {
    const type = reply.getHeader("content-type");
    if (request.url.startsWith("/api/agent/") && String(type).startsWith("application/json")) {
      reply.header("content-type", AGENT_MEDIA_TYPE);
    }
    return payload;
  });
}
