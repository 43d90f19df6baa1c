import { fault } from "./faults.ts";
import type { FakeField } from "./models.ts";
import { pyRepr } from "./py-json.ts";

const DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The empty value of a field type, as Odoo stores and reads it. */
export function emptyValue(field: FakeField): unknown {
  switch (field.type) {
    case "boolean":
      return false;
    case "integer":
    case "float":
      return 0;
    case "many2many":
    case "one2many":
      return [];
    default:
      return false;
  }
}

export function defaultValue(field: FakeField): unknown {
  if (field.default === undefined) return emptyValue(field);
  return Array.isArray(field.default) ? [...field.default] : field.default;
}

/** Converts a value sent by a client into the stored form, or throws Odoo's error. */
export function toStored(model: string, name: string, field: FakeField, value: unknown, current: unknown) {
  const empty = value === false || value === null;
  switch (field.type) {
    case "char":
    case "text":
    case "html":
      if (empty) return false;
      if (typeof value === "string") return value;
      if (typeof value === "number") return String(value);
      break;
    case "selection":
      if (empty) return false;
      if (field.selection?.some(([key]) => key === value)) return value;
      throw fault.valueError(`Wrong value for ${model}.${name}: ${pyRepr(value)}`);
    case "boolean":
      return Boolean(value);
    case "integer":
      if (empty) return 0;
      if (Number.isInteger(value)) return value;
      break;
    case "float":
      if (empty) return 0;
      if (typeof value === "number") return value;
      break;
    case "date":
      if (empty) return false;
      if (typeof value === "string" && DATE_RE.test(value)) return value;
      throw fault.valueError(`time data ${pyRepr(value)} does not match format '%Y-%m-%d'`);
    case "datetime":
      if (empty) return false;
      if (typeof value === "string" && DATETIME_RE.test(value)) return value;
      if (typeof value === "string" && DATE_RE.test(value)) return `${value} 00:00:00`;
      throw fault.valueError(`time data ${pyRepr(value)} does not match format '%Y-%m-%d %H:%M:%S'`);
    case "many2one":
      if (empty) return false;
      if (Number.isInteger(value)) return value;
      break;
    case "many2many":
      return applyX2manyCommands(value, Array.isArray(current) ? (current as number[]) : []);
    case "one2many":
      // Only the inverse many2one moves a one2many here (message_ids: message_post).
      break;
  }
  throw fault.valueError(`Wrong value for ${model}.${name}: ${pyRepr(value)}`);
}

/** Odoo x2many commands: (6, 0, ids) set, (4, id) link, (3, id) unlink, (5,) clear; or ids. */
function applyX2manyCommands(value: unknown, current: number[]): number[] {
  if (value === false || value === null) return [];
  if (!Array.isArray(value)) throw fault.valueError(`Wrong value for x2many: ${pyRepr(value)}`);
  if (value.every((item) => Number.isInteger(item))) return [...(value as number[])];
  let ids = [...current];
  for (const command of value) {
    if (!Array.isArray(command)) throw fault.valueError(`Invalid x2many command ${pyRepr(command)}`);
    const [code, id, list] = command as [unknown, unknown, unknown];
    if (code === 6 && Array.isArray(list)) ids = [...(list as number[])];
    else if (code === 4 && Number.isInteger(id))
      ids = ids.includes(id as number) ? ids : [...ids, id as number];
    else if ((code === 3 || code === 2) && Number.isInteger(id)) ids = ids.filter((item) => item !== id);
    else if (code === 5) ids = [];
    else throw fault.valueError(`Unsupported x2many command ${pyRepr(command)}`);
  }
  return ids;
}
