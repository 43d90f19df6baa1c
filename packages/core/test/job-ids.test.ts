import { describe, expect, it } from "vitest";
import { newJobId, ulid } from "../src/jobs/job-ids.ts";

const CROCKFORD_ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

describe("job ids", () => {
  it("are j-<ULID> with the creation time in the first 10 characters", () => {
    const at = new Date("2026-11-27T10:00:00.123Z");
    const id = newJobId(at);
    expect(id).toMatch(/^j-[0-9A-HJKMNP-TV-Z]{26}$/);
    const time = [...id.slice(2, 12)].reduce(
      (sum, char) => sum * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".indexOf(char),
      0,
    );
    expect(time).toBe(at.getTime());
  });

  it("sort in the order they were made, also within one millisecond and when the clock steps back", () => {
    const now = Date.now() + 10_000;
    const ids = [
      ...Array.from({ length: 500 }, () => ulid(now)),
      ulid(now - 5),
      ulid(now + 1),
      ...Array.from({ length: 500 }, () => ulid(now + 1)),
    ];
    for (const id of ids) expect(id).toMatch(CROCKFORD_ULID);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("differ in their random part between milliseconds", () => {
    const base = Date.now() + 20_000;
    const randomParts = Array.from({ length: 200 }, (_, i) => ulid(base + i).slice(10));
    expect(new Set(randomParts).size).toBe(200);
  });
});
