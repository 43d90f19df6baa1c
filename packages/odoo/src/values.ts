import { z } from "zod";

/**
 * Odoo's wire conventions for values: `false` stands for "no value" in every field type except
 * booleans, many2one is `[id, display_name]` (or a bare id with `load: null`), x2many is a list
 * of ids, and datetimes are naive UTC strings `YYYY-MM-DD HH:MM:SS` (one-second resolution).
 */

const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses an Odoo datetime (always UTC). Throws on anything else. */
export function parseOdooDatetime(value: string): Date {
  const match = DATETIME_RE.exec(value);
  if (!match) throw new RangeError(`not an Odoo datetime: ${JSON.stringify(value)}`);
  const [y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (formatOdooDatetime(date) !== value) {
    throw new RangeError(`not an Odoo datetime: ${JSON.stringify(value)}`);
  }
  return date;
}

/** Formats a Date as an Odoo datetime in UTC, dropping milliseconds. */
export function formatOdooDatetime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid Date");
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** Parses an Odoo date (`YYYY-MM-DD`) as midnight UTC. */
export function parseOdooDate(value: string): Date {
  if (!DATE_RE.test(value)) throw new RangeError(`not an Odoo date: ${JSON.stringify(value)}`);
  const date = new Date(`${value}T00:00:00.000Z`);
  if (Number.isNaN(date.getTime()) || formatOdooDate(date) !== value) {
    throw new RangeError(`not an Odoo date: ${JSON.stringify(value)}`);
  }
  return date;
}

export function formatOdooDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid Date");
  return date.toISOString().slice(0, 10);
}

/** `false` (Odoo's empty value) and `null` become `null`; a datetime string becomes a Date. */
export function odooDatetimeOrNull(value: string | false | null | undefined): Date | null {
  return value === false || value === null || value === undefined ? null : parseOdooDatetime(value);
}

/** Odoo's `false` for an empty char/text/selection/date field becomes `null`. */
export function falseToNull<T>(value: T | false | null | undefined): T | null {
  return value === false || value === undefined ? null : value;
}

/** A many2one as read with the default load: `[id, display_name]` or `false`. */
export type Many2oneValue = [number, string] | false;

export interface Many2one {
  id: number;
  /** Present when read with the default load; absent for `load: null` (bare id). */
  name?: string;
}

/** Accepts `[id, name]`, a bare id (`load: null`) or `false`. */
export function parseMany2one(value: unknown): Many2one | null {
  if (value === false || value === null || value === undefined) return null;
  if (typeof value === "number" && Number.isInteger(value)) return { id: value };
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === "number" &&
    typeof value[1] === "string"
  ) {
    return { id: value[0], name: value[1] };
  }
  throw new TypeError(`not a many2one value: ${JSON.stringify(value)}`);
}

export function many2oneId(value: unknown): number | null {
  return parseMany2one(value)?.id ?? null;
}

/** x2many values are id lists; `false` (never sent by Odoo for x2many, but cheap) means none. */
export function x2manyIds(value: unknown): number[] {
  if (value === false || value === null || value === undefined) return [];
  return z.array(z.number().int()).parse(value);
}

/** zod pieces for typing records read from Odoo. */
export const OdooId = z.number().int().positive();
export const Many2oneSchema = z.union([z.tuple([OdooId, z.string()]), z.literal(false)]);
export const OdooDatetimeString = z.string().regex(DATETIME_RE, "Odoo datetime");
/** A datetime field as read: `false` or a UTC string, parsed into `Date | null`. */
export const OdooDatetimeField = z
  .union([OdooDatetimeString, z.literal(false)])
  .transform((value) => (value === false ? null : parseOdooDatetime(value)));
/** A char/text/selection field as read: `false` becomes `null`. */
export const OdooTextField = z
  .union([z.string(), z.literal(false)])
  .transform((value) => (value === false ? null : value));
