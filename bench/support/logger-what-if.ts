// A what-if logger for bench/events `--api-logger=line`: not the product. pino is a dependency of
// apps/api, not of the repository root: imported from there (the copy the API runs on).
import pino from "../../apps/api/node_modules/pino/pino.js";
import { loggerOptions } from "../../packages/core/src/index.ts";

// "+", not "*": a message the logMethod hook already redacted must not be marked twice.
const TOKEN_SHAPED = /vwksp-(reg|agt|key)-[A-Za-z0-9_-]+/g;
// As packages/core/src/redact.ts, but a value also ends at a JSON quote or backslash.
const SECRET_QUERY = /([?&](?:secret|token|key)=)[^&#\s"\\]*/gi;

/** redactString of packages/core/src/redact.ts, for a finished JSON line. */
function redactLine(line: string): string {
  if (!line.includes("vwksp-") && !/[?&](secret|token|key)=/i.test(line)) return line;
  return line.replace(TOKEN_SHAPED, "vwksp-$1-[REDACTED]").replace(SECRET_QUERY, "$1[REDACTED]");
}

/**
 * The product's logger options (level, pino `redact` paths, serializers, the `logMethod` hook
 * that redacts message strings) with one change: instead of `formatters.log` deep-copying every
 * log object before the serializers run (for Fastify's "incoming request" and "request
 * completed" lines that object holds the whole request or reply: raw IncomingMessage, socket,
 * server, logger …), pino's `streamWrite` hook redacts the finished line in one regex pass.
 */
export function createLineRedactingLogger(level: string, name: string, destination: pino.DestinationStream) {
  const { formatters: _deepCopy, ...options } = loggerOptions(level, name);
  return pino({ ...options, hooks: { ...options.hooks, streamWrite: redactLine } }, destination);
}
