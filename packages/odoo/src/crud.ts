import { z } from "zod";
import type { OrmCall } from "./orm-call.ts";
import {
  Count,
  type FieldDescription,
  FieldsGetResult,
  IdList,
  OdooRecord,
  RecordList,
  TrueResult,
} from "./schemas.ts";
import { OdooId } from "./values.ts";

/** A domain in Odoo's prefix notation: leaves `[field, op, value]` and `"&"`, `"|"`, `"!"`. */
export type OdooDomain = readonly unknown[];
export type OdooContext = Record<string, unknown>;
export type OdooValues = Record<string, unknown>;

interface WithContext {
  context?: OdooContext;
}
export interface SearchOptions extends WithContext {
  offset?: number;
  limit?: number;
  /** SQL-like order, e.g. `"write_date asc, id asc"`. */
  order?: string;
}
export interface SearchReadOptions<S extends z.ZodType = z.ZodType> extends SearchOptions {
  fields?: string[];
  /** Validates each record; defaults to "an object with an integer id". */
  schema?: S;
}
export interface SearchCountOptions extends WithContext {
  limit?: number;
}
export interface ReadOptions<S extends z.ZodType = z.ZodType> extends WithContext {
  fields?: string[];
  /** `null` reads many2one as bare ids instead of `[id, name]`. */
  load?: "_classic_read" | null;
  schema?: S;
}
export interface FieldsGetOptions extends WithContext {
  fields?: string[];
  attributes?: string[];
}

export type InvokeParsed = <S extends z.ZodType>(call: OrmCall, schema: S) => Promise<z.output<S>>;

/** Keeps the options that were given; `null` is a value (e.g. `load: null`), undefined is not. */
function given(options: object, names: readonly string[]): Record<string, unknown> {
  const entries = Object.entries(options).filter(
    ([name, value]) => names.includes(name) && value !== undefined,
  );
  return Object.fromEntries(entries);
}

function orm(
  model: string,
  method: string,
  positional: [string, unknown][],
  kwargs: Record<string, unknown>,
  ids?: number[],
): OrmCall {
  return { model, method, positional, kwargs, ...(ids ? { ids } : {}) };
}

/** The typed CRUD helpers, shaped like the recorded transcripts for both transports. */
export function createCrudHelpers(invokeParsed: InvokeParsed) {
  function searchRead<S extends z.ZodType>(
    model: string,
    domain: OdooDomain,
    options: SearchReadOptions<S> & { schema: S },
  ): Promise<z.output<S>[]>;
  function searchRead(model: string, domain: OdooDomain, options?: SearchReadOptions): Promise<OdooRecord[]>;
  function searchRead(model: string, domain: OdooDomain, options: SearchReadOptions = {}) {
    const kwargs = given(options, ["fields", "offset", "limit", "order", "context"]);
    const schema = z.array(options.schema ?? OdooRecord);
    return invokeParsed(orm(model, "search_read", [["domain", domain]], kwargs), schema);
  }

  function search(model: string, domain: OdooDomain, options: SearchOptions = {}): Promise<number[]> {
    const kwargs = given(options, ["offset", "limit", "order", "context"]);
    return invokeParsed(orm(model, "search", [["domain", domain]], kwargs), IdList);
  }

  function searchCount(model: string, domain: OdooDomain, options: SearchCountOptions = {}) {
    const kwargs = given(options, ["limit", "context"]);
    return invokeParsed(orm(model, "search_count", [["domain", domain]], kwargs), Count);
  }

  /** Ids that do not exist are left out of the answer (Odoo does not raise on read). */
  function read<S extends z.ZodType>(
    model: string,
    ids: number[],
    options: ReadOptions<S> & { schema: S },
  ): Promise<z.output<S>[]>;
  function read(model: string, ids: number[], options?: ReadOptions): Promise<OdooRecord[]>;
  function read(model: string, ids: number[], options: ReadOptions = {}) {
    const kwargs = given(options, ["fields", "load", "context"]);
    const schema = options.schema ? z.array(options.schema) : RecordList;
    return invokeParsed(orm(model, "read", [], kwargs, ids), schema);
  }

  /** One dict gives one id, a list gives the list of ids (as execute_kw does). */
  function create(model: string, values: OdooValues, options?: WithContext): Promise<number>;
  function create(model: string, values: OdooValues[], options?: WithContext): Promise<number[]>;
  function create(model: string, values: OdooValues | OdooValues[], options: WithContext = {}) {
    const call = orm(model, "create", [["vals_list", values]], given(options, ["context"]));
    return Array.isArray(values) ? invokeParsed(call, IdList) : invokeParsed(call, OdooId);
  }

  function write(model: string, ids: number[], values: OdooValues, options: WithContext = {}) {
    const call = orm(model, "write", [["vals", values]], given(options, ["context"]), ids);
    return invokeParsed(call, TrueResult);
  }

  function unlink(model: string, ids: number[], options: WithContext = {}) {
    return invokeParsed(orm(model, "unlink", [], given(options, ["context"]), ids), TrueResult);
  }

  function fieldsGet(
    model: string,
    options: FieldsGetOptions = {},
  ): Promise<Record<string, FieldDescription>> {
    const positional: [string, unknown][] = options.fields ? [["allfields", options.fields]] : [];
    const kwargs = given(options, ["attributes", "context"]);
    return invokeParsed(orm(model, "fields_get", positional, kwargs), FieldsGetResult);
  }

  return { searchRead, search, searchCount, read, create, write, unlink, fieldsGet };
}
