/**
 * Odoo answers with Python's `json.dumps` defaults (`", "` and `": "` separators, ASCII only), and
 * its messages embed Python `repr()`s. The fake reproduces both byte for byte.
 */

const NON_ASCII = /[\u0080-\uffff]/g;

function hex4(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function dumpString(value: string): string {
  return JSON.stringify(value).replace(NON_ASCII, hex4);
}

/** `json.dumps(value)` as CPython writes it. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return dumpString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "NaN";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${dumpString(key)}: ${pyJsonDumps(item)}`).join(", ")}}`;
  }
  return "null";
}

/** Marks an array to be shown as a Python tuple by `pyRepr`. */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

function reprString(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return `${quote}${out}${quote}`;
}

/** Python's `repr()` of a JSON-ish value. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return reprString(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return String(value);
  if (value instanceof PyTuple) {
    const items = value.items.map(pyRepr);
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, item]) => `${reprString(key)}: ${pyRepr(item)}`)
      .join(", ")}}`;
  }
  return String(value);
}

/** `res.partner(7,)`: how Odoo prints a recordset in messages. */
export function recordsetRepr(model: string, ids: readonly number[]): string {
  return `${model}${pyRepr(new PyTuple(ids))}`;
}
