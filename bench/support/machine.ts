import { readFileSync } from "node:fs";

/**
 * CPU seconds the whole machine spent busy so far (all cores: user, nice, system, irq, softirq,
 * steal), from the first line of Linux's /proc/stat. The difference between two readings, minus
 * what the processes one knows of used, is what everything else on the machine took.
 */
export function machineBusySeconds(): number {
  const ticks = 100; // USER_HZ on Linux
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number);
    return (user + nice + system + irq + softirq + steal) / ticks;
  } catch {
    return Number.NaN;
  }
}
