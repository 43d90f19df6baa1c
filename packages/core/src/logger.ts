import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { redactString } from "./redact.ts";

/**
 * pino options shared by the API and the worker: no authorization header, no cookie and no
 * token-shaped value (`vwksp-reg-…`, `vwksp-agt-…`, `vwksp-key-…`) ever reaches a log line,
 * whatever the level. Known secret paths are censored by pino's redaction; anything else
 * token-shaped is caught on the finished line, once, just before it is written (walking every
 * log object instead cost about 1 ms per request: bench/events).
 */
export function loggerOptions(level: string, name: string, format: LogFormat = "json"): LoggerOptions {
  return {
    // Pretty lines come from pino's own prettifier in a worker thread; the redaction below runs
    // on each line before it is handed over, so pretty output is as clean as JSON.
    ...(format === "pretty"
      ? {
          transport: {
            target: "pino-pretty",
            // Colours only on a terminal (pino-pretty asks the output), so piped lines stay plain.
            options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" },
          },
        }
      : {}),
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

export type LogFormat = "json" | "pretty";

export function createLogger(
  level: string,
  name: string,
  destination?: DestinationStream,
  format: LogFormat = "json",
): Logger {
  return destination
    ? pino(loggerOptions(level, name, "json"), destination)
    : pino(loggerOptions(level, name, format));
}

export type { Logger };
