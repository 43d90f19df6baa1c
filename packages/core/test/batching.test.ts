import { describe, expect, it } from "vitest";
import { createBatcher } from "../src/batching.ts";

/** A run function whose batches finish only when the test says so. */
function controlledRun() {
  const batches: { items: number[]; finish: () => void }[] = [];
  const run = (items: number[]) =>
    new Promise<string[]>((resolve) => {
      batches.push({ items, finish: () => resolve(items.map((item) => `done ${item}`)) });
    });
  return { run, batches };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("createBatcher", () => {
  it("runs an item at once when nothing is running", async () => {
    const { run, batches } = controlledRun();
    const batcher = createBatcher({ run, maxBatch: 10, maxInFlight: 1 });
    const outcome = batcher.submit(1);
    expect(batches.map((batch) => batch.items)).toEqual([[1]]);
    batches[0]?.finish();
    await expect(outcome).resolves.toBe("done 1");
  });

  it("groups the items that arrive while batches run, up to maxBatch, and answers each its own", async () => {
    const { run, batches } = controlledRun();
    const batcher = createBatcher({ run, maxBatch: 3, maxInFlight: 2 });
    const outcomes = [1, 2, 3, 4, 5, 6, 7].map((item) => batcher.submit(item));
    expect(batches.map((batch) => batch.items)).toEqual([[1], [2]]);
    expect(batcher.waiting()).toBe(5);
    batches[0]?.finish();
    await tick();
    expect(batches.map((batch) => batch.items)).toEqual([[1], [2], [3, 4, 5]]);
    batches[1]?.finish();
    await tick();
    expect(batches.map((batch) => batch.items)).toEqual([[1], [2], [3, 4, 5], [6, 7]]);
    batches[2]?.finish();
    batches[3]?.finish();
    await expect(Promise.all(outcomes)).resolves.toEqual([1, 2, 3, 4, 5, 6, 7].map((item) => `done ${item}`));
    expect(batcher.waiting()).toBe(0);
  });

  it("never puts two items with the same key into one batch", async () => {
    const { run, batches } = controlledRun();
    const batcher = createBatcher({ run, maxBatch: 10, maxInFlight: 1, key: (item) => String(item % 2) });
    const outcomes = [0, 1, 2, 3, 4].map((item) => batcher.submit(item));
    for (let round = 0; round < 3; round += 1) {
      batches[round]?.finish();
      await tick();
    }
    batches[3]?.finish();
    await Promise.all(outcomes);
    expect(batches.map((batch) => batch.items)).toEqual([[0], [1, 2], [3, 4]]);
  });

  it("gets through a long queue of one key, one item per batch, without skipping the others", async () => {
    const seen: string[][] = [];
    const batcher = createBatcher({
      maxBatch: 4,
      key: (item: string) => item.split(":")[0] ?? item,
      run: async (items: string[]) => {
        seen.push(items);
        return items;
      },
    });
    const items = [...Array.from({ length: 100 }, (_, index) => `same:${index}`), "other:0", "other:1"];
    await expect(Promise.all(items.map((item) => batcher.submit(item)))).resolves.toEqual(items);
    expect(seen.flat().sort()).toEqual([...items].sort());
    for (const batch of seen)
      expect(new Set(batch.map((item) => item.split(":")[0])).size).toBe(batch.length);
  });

  it("runs the items of a failed batch one by one, so a bad item fails alone", async () => {
    const seen: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const batcher = createBatcher({
      maxBatch: 10,
      maxInFlight: 1,
      run: async (items: number[]) => {
        seen.push(items);
        if (items[0] === 0) await gate;
        if (items.includes(13)) throw Object.assign(new Error("unlucky"), { code: "22P05" });
        return items.map((item) => item * 2);
      },
    });
    const first = batcher.submit(0);
    const outcomes = [12, 13, 14].map((item) =>
      batcher.submit(item).then(String, (error: Error) => error.message),
    );
    release();
    await expect(first).resolves.toBe(0);
    await expect(Promise.all(outcomes)).resolves.toEqual(["24", "unlucky", "28"]);
    expect(seen).toEqual([[0], [12, 13, 14], [12], [13], [14]]);
  });

  it("fails a batch whole, without re-running it, on an error that may come after the commit", async () => {
    let calls = 0;
    const batcher = createBatcher({
      run: async (items: number[]) => {
        calls += 1;
        if (items.length > 1) throw Object.assign(new Error("canceled"), { code: "57014" });
        await new Promise((resolve) => setTimeout(resolve, 5));
        return items;
      },
    });
    const first = batcher.submit(1);
    const rest = [2, 3].map((item) => batcher.submit(item).then(String, (error: Error) => error.message));
    await first;
    await expect(Promise.all(rest)).resolves.toEqual(["canceled", "canceled"]);
    expect(calls).toBe(2);
  });

  it("fails everything waiting at once when the database is unreachable", async () => {
    const seen: number[][] = [];
    const batcher = createBatcher({
      maxBatch: 2,
      run: async (items: number[]) => {
        seen.push(items);
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      },
    });
    const outcomes = [1, 2, 3, 4, 5, 6].map((item) =>
      batcher.submit(item).then(String, (error: NodeJS.ErrnoException) => error.code),
    );
    await expect(Promise.all(outcomes)).resolves.toEqual(Array(6).fill("ECONNREFUSED"));
    // Only the first statement ran: the items waiting behind it got its error at once.
    expect(seen).toEqual([[1]]);
    expect(batcher.waiting()).toBe(0);
  });
});
