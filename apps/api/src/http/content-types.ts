import { badRequest, DomainError } from "@vwksp/core";
import { AGENT_MEDIA_TYPE } from "@vwksp/protocol";
import type { FastifyInstance } from "fastify";

/**
 * Deepest nesting of objects and arrays a body may have. Kubernetes manifests and Helm values go
 * a few tens of levels deep; thousands of levels overflow the stack of the code that walks the
 * payload (canonical JSON, policy checks, value merging) and ended as 500s.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * What is wrong with a parsed body, if anything: nesting deeper than MAX_JSON_DEPTH, or the
 * shapes of prototype pollution — a `__proto__` key, or `constructor` holding `prototype`. The
 * latter are refused with 400 rather than dropped (Fastify's "remove" stored a job with other
 * data than was sent) or kept (payloads pass through code that merges objects key by key, such
 * as Helm values over catalog defaults); no Kubernetes object or Helm chart needs them. One walk
 * over the body, without recursion.
 */
function refusalOf(body: unknown): DomainError | undefined {
  const stack: [unknown, number][] = [[body, 1]];
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    const [node, depth] = entry;
    if (node === null || typeof node !== "object") continue;
    if (depth > MAX_JSON_DEPTH) {
      return badRequest("invalid_json", `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (!Array.isArray(node) && pollutes(node as Record<string, unknown>)) {
      return badRequest(
        "invalid_request",
        'the body holds a "__proto__" key or a "constructor" object with a "prototype" key, which this service refuses',
      );
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return undefined;
}

function pollutes(node: Record<string, unknown>): boolean {
  if (Object.hasOwn(node, "__proto__")) return true;
  const ownConstructor = Object.hasOwn(node, "constructor") ? node.constructor : undefined;
  return (
    typeof ownConstructor === "object" &&
    ownConstructor !== null &&
    Object.hasOwn(ownConstructor, "prototype")
  );
}

/**
 * The Go operator sends `application/vnd.vworkspace.agent.v1+json`, never `application/json`;
 * a server that only parses `application/json` answers 415 and breaks it. Every route parses
 * both (JSON.parse makes `__proto__` an own property, never a prototype) and refuses what
 * `refusalOf` names. An empty body with a JSON content type counts as no body, so a bodiless
 * POST is accepted whatever its headers.
 */
export function registerContentTypes(app: FastifyInstance) {
  // JSON only: a text/plain or form body is a 415, not something a handler has to guess about.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ["application/json", AGENT_MEDIA_TYPE],
    { parseAs: "string" },
    (_request, raw, done) => {
      const text = typeof raw === "string" ? raw : raw.toString("utf8");
      if (text.trim().length === 0) return done(null, undefined);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return done(badRequest("invalid_json", "the body is not valid JSON"), undefined);
      }
      const refusal = refusalOf(body);
      if (refusal) return done(refusal, undefined);
      done(null, body);
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
