import { describe, expect, it } from "vitest";
import {
  falseToNull,
  formatOdooDate,
  formatOdooDatetime,
  Many2oneSchema,
  majorVersion,
  many2oneId,
  OdooDatetimeField,
  OdooError,
  odooDatetimeOrNull,
  parseMany2one,
  parseOdooDate,
  parseOdooDatetime,
  scrubSecrets,
  x2manyIds,
} from "../src/index.ts";

describe("Odoo datetimes", () => {
  it("are naive UTC strings with one-second resolution", () => {
    const date = parseOdooDatetime("2026-11-27 06:44:31");
    expect(date.toISOString()).toBe("2026-11-27T06:44:31.000Z");
    expect(formatOdooDatetime(new Date("2026-11-27T06:44:31.999Z"))).toBe("2026-11-27 06:44:31");
    expect(formatOdooDatetime(new Date("2026-11-27T07:44:31+01:00"))).toBe("2026-11-27 06:44:31");
  });

  it("reject anything else", () => {
    for (const bad of ["2026-11-27T06:44:31", "2026-02-30 00:00:00", "2026-11-27 24:00:00", ""]) {
      expect(() => parseOdooDatetime(bad)).toThrow(RangeError);
    }
    expect(() => formatOdooDatetime(new Date(Number.NaN))).toThrow(RangeError);
  });

  it("read false as null", () => {
    expect(odooDatetimeOrNull(false)).toBeNull();
    expect(OdooDatetimeField.parse(false)).toBeNull();
    expect(OdooDatetimeField.parse("2026-01-02 03:04:05")).toEqual(new Date("2026-01-02T03:04:05Z"));
    expect(OdooDatetimeField.safeParse("2026-01-02").success).toBe(false);
  });

  it("has dates too", () => {
    expect(formatOdooDate(parseOdooDate("2024-02-29"))).toBe("2024-02-29");
    expect(() => parseOdooDate("2023-02-29")).toThrow(RangeError);
  });
});

describe("Odoo's false and relational values", () => {
  it("maps false to null or empty", () => {
    expect(falseToNull(false)).toBeNull();
    expect(falseToNull("x")).toBe("x");
    expect(falseToNull(0)).toBe(0);
    expect(x2manyIds(false)).toEqual([]);
    expect(x2manyIds([3, 4])).toEqual([3, 4]);
  });

  it("reads many2one in both loads", () => {
    expect(parseMany2one([7, "Acme One"])).toEqual({ id: 7, name: "Acme One" });
    expect(parseMany2one(7)).toEqual({ id: 7 });
    expect(parseMany2one(false)).toBeNull();
    expect(many2oneId([7, "Acme One"])).toBe(7);
    expect(() => parseMany2one("7")).toThrow(TypeError);
    expect(Many2oneSchema.parse(false)).toBe(false);
    expect(Many2oneSchema.safeParse([7]).success).toBe(false);
  });
});

describe("version info", () => {
  it("reads the major version, SaaS builds included", () => {
    const base = { server_version: "x", server_serie: "x", protocol_version: 1 };
    expect(majorVersion({ ...base, server_version_info: [19, 0, 0, "final", 0, ""] })).toBe(19);
    expect(majorVersion({ ...base, server_version_info: ["saas~18", 2, 0, "final", 0, ""] })).toBe(18);
  });
});

describe("secrets", () => {
  it("are scrubbed deeply and from every text of an error", () => {
    const key = "0123456789abcdef";
    expect(scrubSecrets({ a: [`x${key}y`], b: 1 }, [key])).toEqual({ a: ["x[REDACTED]y"], b: 1 });
    const error = new OdooError({
      transport: "jsonrpc",
      name: "builtins.KeyError",
      message: key,
      arguments: [key, { nested: key }],
      debug: `KeyError: '${key}'`,
      secrets: [key],
    });
    expect(JSON.stringify({ ...error.toJSON(), debug: error.debug, stack: error.stack })).not.toContain(key);
  });
});
