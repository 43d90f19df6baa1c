import { readdir, readFile } from "node:fs/promises";

/** The command lines of every process on the machine (what `ps` shows), read from /proc. */
export async function allCommandLines(): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const raw = await readFile(`/proc/${entry}/cmdline`).catch(() => undefined);
    if (raw && raw.length > 0) lines.push(raw.toString("utf8").replaceAll("\0", " ").trim());
  }
  return lines;
}
