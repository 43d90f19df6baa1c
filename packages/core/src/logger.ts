import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { redactString } from "./redact.ts";

/**
 * pino options shared by the API and the worker: no authorization header, no cookie and no
 * token-shaped value (`vwksp-reg-…`, `vwksp-agt-…`, `vwksp-key-…`) ever reaches a log line,
 * whatever the level. Known secret paths are censored by pino's redaction; anything else
 * token-shaped is caught on the finished line, once, just before it is written (walking every
 * log object instead cost about 1 ms per request: bench/events).
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
    hooks: {
      streamWrite: redactString,
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
