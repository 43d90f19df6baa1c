import { access, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorkdirCache } from "../src/workdir-cache.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "vwksp-gitops-cache-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe("createWorkdirCache", () => {
  it("keeps at most maxEntries clones, removing the least recently used idle one", async () => {
    const cache = await createWorkdirCache({ root, maxEntries: 2 });
    const dirs: Record<string, string> = {};
    for (const key of ["a", "b", "a", "c"]) {
      await cache.use(key, async (dir) => {
        dirs[key] = dir;
        await writeFile(join(dir, "marker"), key);
      });
    }
    expect(cache.keys()).toEqual(["a", "c"]);
    expect(await exists(dirs.b ?? "")).toBe(false);
    expect(await exists(join(dirs.a ?? "", "marker"))).toBe(true);
    await cache.close();
    expect(await readdir(root)).toEqual([]);
  });

  it("gives one caller at a time a key's folder, and never evicts one in use", async () => {
    const cache = await createWorkdirCache({ root, maxEntries: 1 });
    const events: string[] = [];
    let entered = () => {};
    const firstEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let releaseFirst = () => {};
    const firstReleased = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = cache.use("a", async (dir) => {
      events.push("a1 in");
      entered();
      await firstReleased;
      events.push(`a1 out, folder still there: ${await exists(dir)}`);
    });
    await firstEntered;
    const second = cache.use("a", async () => {
      events.push("a2 in");
    });
    // Beyond maxEntries while "a" is busy: "b" is the one evicted afterwards, not "a".
    await cache.use("b", async () => {
      events.push("b");
    });
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(["a1 in", "b", "a1 out, folder still there: true", "a2 in"]);
    expect(cache.keys()).toEqual(["a"]);
    await cache.close();
  });

  it("sweeps the folders of processes that are gone, keeping live engines' folders", async () => {
    const dead = join(root, "4194303-deadbeef");
    const previousSelf = join(root, `${process.pid}-0badc0de`);
    await mkdir(join(dead, "scratch", "cred-x"), { recursive: true });
    await writeFile(join(dead, "scratch", "cred-x", "id"), "a leftover private key");
    await mkdir(previousSelf);
    const live = await createWorkdirCache({ root, maxEntries: 4 });
    const second = await createWorkdirCache({ root, maxEntries: 4 });

    const folders = await readdir(root);
    expect(folders).toHaveLength(2);
    expect(folders.every((name) => name.startsWith(`${process.pid}-`))).toBe(true);
    expect(await exists(dead)).toBe(false);
    expect(await exists(previousSelf)).toBe(false);
    expect(await exists(live.scratchDir)).toBe(true);
    await Promise.all([live.close(), second.close()]);
  });
});
