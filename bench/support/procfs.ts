import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { sleep } from "./stats.ts";

// Linux /proc readers: which process holds which TCP connection, and CPU time per process.

interface TcpEntry {
  localPort: number;
  remotePort: number;
  inode: string;
}

/** Established TCP connections (IPv4 and IPv6) of the machine. */
function establishedConnections(): TcpEntry[] {
  const entries: TcpEntry[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== "01") continue;
      const port = (address: string | undefined) => Number.parseInt(address?.split(":")[1] ?? "0", 16);
      entries.push({ localPort: port(fields[1]), remotePort: port(fields[2]), inode: fields[9] as string });
    }
  }
  return entries;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return inodes;
}

/** Local ports of `pid`'s established connections to `remotePort` (e.g. 6379, 5432). */
export function clientPortsOf(pid: number, remotePort: number): number[] {
  const inodes = socketInodes(pid);
  return establishedConnections()
    .filter((entry) => entry.remotePort === remotePort && inodes.has(entry.inode))
    .map((entry) => entry.localPort);
}

/** Inbound connections accepted by `pid` on its listening `port`. */
export function serverConnectionsOf(pid: number, port: number): number {
  const inodes = socketInodes(pid);
  return establishedConnections().filter((entry) => entry.localPort === port && inodes.has(entry.inode))
    .length;
}

/**
 * CPU seconds (user + system) used so far by each process, with its command name. Includes the
 * time of its children that have exited (cutime/cstime), so PostgreSQL backends that close
 * during a measurement still count (through the postmaster).
 */
export function cpuTimes(): Map<number, { comm: string; seconds: number }> {
  const ticks = 100; // USER_HZ on Linux
  const result = new Map<number, { comm: string; seconds: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat
        .slice(close + 2)
        .split(" ")
        .map(Number);
      // After "pid (comm) ": state=0 … utime=11, stime=12, cutime=13, cstime=14
      const used = (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
      result.set(Number(name), { comm, seconds: used / ticks });
    } catch {
      // The process ended while we looked.
    }
  }
  return result;
}

/**
 * CPU seconds used between two snapshots, grouped: the named pids, then PostgreSQL and Redis
 * server processes, then everything else by command name. A process that ended in between is
 * subtracted with its earlier figure (its whole lifetime moved into its parent's child time).
 */
export function cpuDelta(
  before: ReturnType<typeof cpuTimes>,
  after: ReturnType<typeof cpuTimes>,
  named: Record<string, number>,
): Record<string, number> {
  const byPid = new Map(Object.entries(named).map(([label, pid]) => [pid, label]));
  const labelOf = (pid: number, comm: string) =>
    byPid.get(pid) ??
    (comm.startsWith("postgres") ? "postgres" : comm.startsWith("redis") ? "redis" : `other(${comm})`);
  const groups: Record<string, number> = {};
  const add = (label: string, seconds: number) => {
    groups[label] = (groups[label] ?? 0) + seconds;
  };
  for (const [pid, now] of after) add(labelOf(pid, now.comm), now.seconds - (before.get(pid)?.seconds ?? 0));
  for (const [pid, then] of before) if (!after.has(pid)) add(labelOf(pid, then.comm), -then.seconds);
  return groups;
}

/** Waits until `pid` has used less than 5 % of a core over half a second (it is done working). */
export async function settled(pid: number, timeoutMs = 15_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const before = cpuTimes().get(pid)?.seconds ?? 0;
    await sleep(500);
    if ((cpuTimes().get(pid)?.seconds ?? 0) - before < 0.025) return;
  }
}
