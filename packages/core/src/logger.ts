import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { redactDeep, redactString } from "./redact.ts";

/**
 * pino options shared by the API and the worker: no authorization header, no cookie and no
 * token-shaped value (`vwksp-reg-…`, `vwksp-agt-…`, `vwksp-key-…`) ever reaches a log line,
 * whatever the level.
 */
export function loggerOptions(level: string, name: string): LoggerOptions {
  return {
    level,
    name,
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        "headers.authorization",
        "authorization",
        "*.authorization",
        "apiKey",
        "*.apiKey",
        "password",
        "*.password",
      ],
      censor: "[REDACTED]",
    },
    formatters: {
      log: (object) => redactDeep(object) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === "string" ? redactString(arg) : arg));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    serializers: {
      err: pino.stdSerializers.err,
    },
  };
}

export function createLogger(level: string, name: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level, name), destination) : pino(loggerOptions(level, name));
}

export type { Logger };
