import { Transform } from "node:stream";
import { DomainError, unavailable } from "@vwksp/core";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** Request bodies read before anyone is authenticated: registrations, the Odoo webhook. */
const UNAUTHENTICATED_BODY_BYTES = 64 * 1024;
/** Such bodies being received at once; a legitimate one arrives in a packet or two. */
const UNAUTHENTICATED_BODIES_AT_ONCE = 64;

const hasBody = (request: FastifyRequest) =>
  request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0;

const tooLarge = () =>
  new DomainError(
    413,
    "payload_too_large",
    `a request body read before authentication is limited to ${UNAUTHENTICATED_BODY_BYTES / 1024} KiB`,
  );

/**
 * Agent and admin routes authenticate from the headers before their body is read (onRequest),
 * so a client without a credential never gets a body of theirs held in memory there; so does the
 * registration, from the token in its Authorization header. The bodies that must be read first —
 * a registration without that header, the Odoo webhook — are kept small (64 KiB) and few at a
 * time (64; more get 503), so clients trickling or stalling them hold little memory until
 * REQUEST_TIMEOUT_SECONDS cuts them off.
 */
export function limitUnauthenticatedBodies(app: FastifyInstance) {
  let receiving = 0;
  app.addHook("preParsing", async (request, reply, payload) => {
    if (request.agent || request.principal || request.registration || !hasBody(request)) return payload;
    if (Number(request.headers["content-length"] ?? 0) > UNAUTHENTICATED_BODY_BYTES) throw tooLarge();
    if (receiving >= UNAUTHENTICATED_BODIES_AT_ONCE) {
      // Close rather than read the body only to throw it away.
      reply.header("connection", "close");
      throw unavailable("too many request bodies are being received, retry shortly", 1);
    }
    receiving += 1;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      receiving -= 1;
    };
    request.raw.once("close", finish);
    let received = 0;
    // Counts what arrives (a chunked body declares no length) and ends the slot with the body.
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > UNAUTHENTICATED_BODY_BYTES) {
          finish();
          callback(tooLarge());
        } else callback(null, chunk);
      },
      flush(callback) {
        finish();
        callback();
      },
    });
    payload.on("error", (error) => counted.destroy(error));
    return payload.pipe(counted);
  });
}
