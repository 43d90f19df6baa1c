import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";

export interface Output {
  write(text: string): unknown;
}

export type LogLevel = "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Plain timestamped lines, or one JSON object a line (`time`, `level`, `msg`) for log
 * collectors: the agent runs under kubelet or docker, which keep stdout/stderr.
 * Messages are built by the agent from ids and server messages, never from credentials.
 */
export function createLogger(out: Output, clock: Clock = systemClock, format: LogFormat = "text"): Logger {
  const line = (level: LogLevel, message: string) =>
    out.write(
      format === "json"
        ? `${JSON.stringify({ time: clock.now().toISOString(), level, msg: message })}\n`
        : `${clock.now().toISOString()} ${level} ${message}\n`,
    );
  return {
    info: (message) => line("info", message),
    warn: (message) => line("warn", message),
    error: (message) => line("error", message),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
