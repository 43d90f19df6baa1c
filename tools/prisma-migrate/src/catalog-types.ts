// Fix 1 of 3 around @prisma/adapter-pg: columns of PostgreSQL catalog types.
//
// The schema engine introspects pg_catalog and gets back columns typed `"char"`, `regproc`,
// `int2vector`, `name[]`… @prisma/adapter-pg only knows the types a Prisma model can have, so it
// rejects those results ("Column type '…' could not be deserialized" / UnsupportedNativeDataType)
// and the engine fails. The engine reads all of them as strings, so we relabel them as
// `text` / `text[]` (and turn array literals into JS arrays) before the adapter sees the result.
// This is done in a pg.Client subclass, which pools and transactions both use.
import pg from "pg";
import { parse as parseArrayLiteral } from "postgres-array";

const TEXT = 25;
const TEXT_ARRAY = 1009;

// Built-in catalog types below FirstNormalObjectId (16384) that the adapter does not map.
const SCALARS = new Set([
  18, // "char"
  22, // int2vector
  24, // regproc
  27, // tid
  28, // xid
  29, // cid
  30, // oidvector
  194, // pg_node_tree
  1033, // aclitem
  2202, // regprocedure
  2203, // regoper
  2204, // regoperator
  2205, // regclass
  2206, // regtype
  3220, // pg_lsn
  3361, // pg_ndistinct
  3402, // pg_dependencies
  3734, // regconfig
  3769, // regdictionary
  4089, // regnamespace
  4096, // regrole
  4191, // regcollation
  5017, // pg_mcv_list
  5069, // xid8
]);
const ARRAYS = new Set([
  1003, // name[]
  1006, // int2vector[]
  1008, // regproc[]
  1010, // tid[]
  1011, // xid[]
  1012, // cid[]
  1013, // oidvector[]
  1034, // aclitem[]
  2207, // regprocedure[]
  2208, // regoper[]
  2209, // regoperator[]
  2210, // regclass[]
  2211, // regtype[]
  4090, // regnamespace[]
  4097, // regrole[]
]);

type Field = { dataTypeID: number };
type Result = { fields?: Field[]; rows?: unknown[] };

function toText(value: unknown): unknown {
  return value === null || typeof value === "string" ? value : String(value);
}

function toTextArray(value: unknown): unknown {
  if (typeof value !== "string") return value; // null, or already parsed by pg
  return parseArrayLiteral(value);
}

function fixRow(row: unknown, index: number, convert: (v: unknown) => unknown): void {
  if (Array.isArray(row)) row[index] = convert(row[index]);
}

/** Relabels catalog-typed columns in place (pg returns one result per statement of a script). */
export function relabelCatalogColumns<T>(result: T): T {
  const results = (Array.isArray(result) ? result : [result]) as Result[];
  for (const r of results) {
    r?.fields?.forEach((field, i) => {
      const array = ARRAYS.has(field.dataTypeID);
      if (!array && !SCALARS.has(field.dataTypeID)) return;
      // The adapter queries with rowMode "array", so rows are arrays indexed like `fields`.
      for (const row of r.rows ?? []) fixRow(row, i, array ? toTextArray : toText);
      field.dataTypeID = array ? TEXT_ARRAY : TEXT;
    });
  }
  return result;
}

/** A pg.Client whose results never carry catalog column types. */
export class CatalogTextClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg.Client#query has many overloads; we forward them all.
  override query(...args: any[]): any {
    const cbIndex = args.findIndex((a) => typeof a === "function");
    if (cbIndex >= 0) {
      // Callback form: the one pg.Pool#query uses.
      const callback = args[cbIndex] as (err: unknown, res: unknown) => void;
      args[cbIndex] = (err: unknown, res: unknown) => callback(err, err ? res : relabelCatalogColumns(res));
      // biome-ignore lint/suspicious/noExplicitAny: see above
      return (super.query as any)(...args);
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const out = (super.query as any)(...args);
    return out && typeof out.then === "function" ? out.then(relabelCatalogColumns) : out;
  }
}
