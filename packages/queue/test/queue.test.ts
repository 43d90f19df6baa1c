import { describe, expect, it } from "vitest";
import { parsePayload } from "../src/catalog.ts";
import { withTimeout } from "../src/producers.ts";

describe("job catalog", () => {
  it("validates payloads by queue and job name", () => {
    expect(parsePayload("dispatch", "dispatch-job", { jobId: "j-1" })).toEqual({ jobId: "j-1" });
    expect(() => parsePayload("odoo-sync", "push-cluster", { clusterId: "not-a-uuid" })).toThrow();
    expect(() => parsePayload("odoo-sync", "pull-record", { odooId: -1 })).toThrow();
  });
});

describe("withTimeout", () => {
  it("gives up on work that never settles, and passes through work that does", async () => {
    await expect(withTimeout(new Promise(() => {}), 20, "stuck")).rejects.toThrow(
      /stuck timed out after 20 ms/,
    );
    await expect(withTimeout(Promise.resolve(7), 1_000, "quick")).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("boom")), 1_000, "failing")).rejects.toThrow("boom");
  });
});
