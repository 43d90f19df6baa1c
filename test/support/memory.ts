import { readFileSync } from "node:fs";

/** Resident memory of a process (Linux `/proc`), in MiB. */
export const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
