import { badRequest } from "./errors.ts";

/**
 * Keyset pagination over (timestamp, id), newest first. The cursor is opaque to clients:
 * base64url of "<ISO time>|<id>".
 */
export interface KeysetCursor {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string | bigint): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString("base64url");
}

/** Ids a cursor may carry, by list: anything else was not made by `encodeCursor`. */
export const CURSOR_IDS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  job: /^j-[0-9A-HJKMNP-TV-Z]{26}$/,
} as const;

/** The cursor's position; 400 `invalid_cursor` for anything `encodeCursor` did not make for this list. */
export function decodeCursor(cursor: string | undefined, idShape: RegExp): KeysetCursor | undefined {
  if (!cursor) return undefined;
  const parts = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const [iso, id] = parts;
  const at = new Date(iso ?? "");
  if (
    parts.length !== 2 ||
    !id ||
    !idShape.test(id) ||
    Number.isNaN(at.getTime()) ||
    at.toISOString() !== iso
  ) {
    throw badRequest("invalid_cursor", "cursor is not valid");
  }
  return { at, id };
}

/** Prisma `where` fragment for "strictly after the cursor" in (field desc, id desc) order. */
export function afterCursor<F extends string, I = string>(
  field: F,
  cursor: KeysetCursor | undefined,
  idOf: (id: string) => I = (id) => id as unknown as I,
): { OR?: Array<Record<F, { lt: Date } | Date> & { id?: { lt: I } }> } {
  if (!cursor) return {};
  return {
    OR: [
      { [field]: { lt: cursor.at } } as Record<F, { lt: Date }>,
      { [field]: cursor.at, id: { lt: idOf(cursor.id) } } as Record<F, Date> & { id: { lt: I } },
    ],
  };
}

/** Cuts a page fetched with `limit + 1` rows and computes the next cursor. */
export function pageOf<T extends { id: string | bigint }>(
  rows: T[],
  limit: number,
  timeOf: (row: T) => Date,
) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > limit && last ? encodeCursor(timeOf(last), last.id) : null;
  return { items, nextCursor };
}
