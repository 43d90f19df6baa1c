import type { Clock } from "./clock.ts";
import { systemClock } from "./clock.ts";

export interface Output {
  write(text: string): unknown;
}

export type LogLevel = "info" | "warn" | "error";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * Plain timestamped lines: the agent runs under kubelet or docker, which keep stdout/stderr.
 * Messages are built by the agent from ids and server messages, never from credentials.
 */
export function createLogger(out: Output, clock: Clock = systemClock): Logger {
  const line = (level: LogLevel, message: string) =>
    out.write(`${clock.now().toISOString()} ${level} ${message}\n`);
  return {
    info: (message) => line("info", message),
    warn: (message) => line("warn", message),
    error: (message) => line("error", message),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
