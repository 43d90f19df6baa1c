import { describe, expect, it } from "vitest";
import type { AuditService } from "../src/audit/audit.service.ts";
import type { Db } from "../src/db.ts";
import { createHeartbeatCoalescer } from "../src/events/heartbeats.ts";
import { silentNotifier } from "../src/notifier.ts";

describe("heartbeat coalescer", () => {
  it("flush() also writes what arrived while an earlier write was running", async () => {
    const written: string[][] = [];
    const db = {
      $queryRaw: async (_sql: TemplateStringsArray, rows: string) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        written.push((JSON.parse(rows) as { id: string }[]).map((row) => row.id));
        return [];
      },
    } as unknown as Db;
    const audit = { recordMany: async () => {} } as unknown as AuditService;
    const coalescer = createHeartbeatCoalescer({
      db,
      clock: { now: () => new Date() },
      audit,
      notifier: silentNotifier,
    });

    coalescer.heartbeat("a", {});
    const first = coalescer.flush();
    coalescer.heartbeat("b", {});
    await coalescer.flush();
    await first;
    expect(written).toEqual([["a"], ["b"]]);
    expect(coalescer.pendingCount()).toBe(0);

    coalescer.seen("c");
    const running = coalescer.flush();
    coalescer.seen("d");
    await coalescer.stop();
    await running;
    expect(written.flat()).toEqual(["a", "b", "c", "d"]);
  });
});
