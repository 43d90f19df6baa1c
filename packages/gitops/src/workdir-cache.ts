import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

export interface WorkdirCacheOptions {
  /** Host-local folder (not a shared volume) under which each engine instance keeps its own folder. */
  root: string;
  /** Clones kept at most; the least recently used idle one is removed beyond this. */
  maxEntries: number;
}

export interface WorkdirCache {
  /** This instance's folder for short-lived files (credentials, validation clones). */
  readonly scratchDir: string;
  /** Runs `work` with sole use of the key's folder within this process (created on first use). */
  use<T>(key: string, work: (dir: string) => Promise<T>): Promise<T>;
  /** Keys whose clone is on disk, least recently used first. */
  keys(): string[];
  /** Waits for running work, then removes this instance's folder. */
  close(): Promise<void>;
}

interface Entry {
  dir: string;
  lastUsed: number;
  /** Callers running or waiting; an entry in use is never evicted. */
  users: number;
  tail: Promise<void>;
}

/** Instance folders of this process that are alive, so a second engine in it does not sweep them. */
const liveInstances = new Set<string>();

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Removes instance folders left by processes that are gone — killed ones cannot clean up, and
 * their folder may hold an SSH key file. A folder with our own pid is a previous process that had
 * it (containers restart as pid 1), unless it belongs to a live engine of this process.
 */
async function sweepDeadInstances(root: string) {
  for (const name of await readdir(root)) {
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!pid || liveInstances.has(join(root, name))) continue;
    if (pid === process.pid || !isAlive(pid)) await rm(join(root, name), { recursive: true, force: true });
  }
}

/**
 * The local clones of one process: a cache only — every operation resets its clone to the
 * remote's head first — so losing it (eviction, restart, crash) costs a fetch, never data.
 */
export async function createWorkdirCache(options: WorkdirCacheOptions): Promise<WorkdirCache> {
  await mkdir(options.root, { recursive: true, mode: 0o700 });
  await sweepDeadInstances(options.root);
  const instanceDir = join(options.root, `${process.pid}-${randomBytes(4).toString("hex")}`);
  const scratchDir = join(instanceDir, "scratch");
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  liveInstances.add(instanceDir);
  const entries = new Map<string, Entry>();
  let tick = 0;

  const evictBeyondLimit = async () => {
    const idle = [...entries]
      .filter(([, entry]) => entry.users === 0)
      .sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    let excess = entries.size - options.maxEntries;
    for (const [key, entry] of idle) {
      if (excess-- <= 0) break;
      entries.delete(key);
      await rm(entry.dir, { recursive: true, force: true });
    }
  };

  return {
    scratchDir,
    async use(key, work) {
      let entry = entries.get(key);
      if (!entry) {
        const name = createHash("sha256").update(key).digest("hex").slice(0, 24);
        entry = { dir: join(instanceDir, "repos", name), lastUsed: 0, users: 0, tail: Promise.resolve() };
        entries.set(key, entry);
      }
      const current = entry;
      current.users++;
      const previous = current.tail;
      let done = () => {};
      current.tail = new Promise((resolve) => {
        done = resolve;
      });
      await previous;
      try {
        await mkdir(current.dir, { recursive: true });
        return await work(current.dir);
      } finally {
        current.lastUsed = ++tick;
        current.users--;
        done();
        await evictBeyondLimit();
      }
    },
    keys: () => [...entries].sort(([, a], [, b]) => a.lastUsed - b.lastUsed).map(([key]) => key),
    async close() {
      await Promise.all([...entries.values()].map((entry) => entry.tail));
      liveInstances.delete(instanceDir);
      await rm(instanceDir, { recursive: true, force: true });
    },
  };
}
