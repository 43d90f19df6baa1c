import { bindNamed, bindPositional } from "./binding.ts";
import type { OdooMajor } from "./dialect.ts";
import { fault, OdooFault } from "./faults.ts";
import { type CallEnv, checkAcl, type FakeUser, resolveMethod } from "./methods.ts";
import { pyJsonDumps } from "./py-json.ts";
import type { FakeStore } from "./store.ts";

/** Everything the request handlers share. */
export interface FakeState {
  version: OdooMajor;
  db: string;
  store: FakeStore;
  users: Map<number, FakeUser>;
  sessions: Map<string, number>;
  serverVersion: string | undefined;
  baseUrl: string;
}

export interface FakeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_TYPE = "application/json; charset=utf-8";
export const HTML_TYPE = "text/html; charset=utf-8";

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): FakeResponse {
  return { status, headers: { "Content-Type": JSON_TYPE, ...headers }, body: pyJsonDumps(value) };
}

export function userByLogin(state: FakeState, login: unknown): FakeUser | undefined {
  return [...state.users.values()].find((user) => user.login === login && isActive(state, user));
}

export function userByApiKey(state: FakeState, key: string): FakeUser | undefined {
  return [...state.users.values()].find((user) => user.apiKey === key && isActive(state, user));
}

function isActive(state: FakeState, user: FakeUser): boolean {
  return state.store.row("res.users", user.uid)?.active !== false;
}

/** RPC credentials: the password or an API key (Odoo accepts both outside the web login). */
export function checkRpcSecret(user: FakeUser | undefined, secret: unknown): boolean {
  if (!user || typeof secret !== "string" || secret === "") return false;
  return secret === user.apiKey || secret === user.password;
}

function contextOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** `execute_kw`/`call_kw`: positional args, kwargs with `context`; create(dict) returns an id. */
export function executeKw(
  state: FakeState,
  user: FakeUser,
  model: string,
  method: string,
  args: unknown,
  kwargs: unknown,
): unknown {
  const spec = resolveMethod(state.store, model, method);
  const { context, ...rest } = contextOf(kwargs);
  const env: CallEnv = { store: state.store, user, context: contextOf(context) };
  const positional = Array.isArray(args) ? args : [];
  const { ids, bound } = bindPositional(spec, method, positional, rest);
  checkAcl(env, model, spec);
  const result = spec.run(env, model, ids, bound);
  const single = method === "create" && !Array.isArray(bound.vals_list);
  return single && Array.isArray(result) ? result[0] : result;
}

/** The JSON-2 call once authenticated: unknown model/method are 404s, records come as `ids`. */
export function executeJson2(
  state: FakeState,
  user: FakeUser,
  model: string,
  method: string,
  body: Record<string, unknown>,
): unknown {
  const { ids, context, ...named } = body;
  if (!state.store.has(model)) throw fault.http(404, `the model '${model}' does not exist`);
  let spec: ReturnType<typeof resolveMethod>;
  try {
    spec = resolveMethod(state.store, model, method);
  } catch (error) {
    if (error instanceof OdooFault && error.odooName === "builtins.AttributeError") {
      throw fault.http(404, error.message);
    }
    throw error;
  }
  const env: CallEnv = { store: state.store, user, context: contextOf(context) };
  const bound = bindNamed(spec, model, method, ids, named);
  checkAcl(env, model, spec);
  return spec.run(env, model, bound.ids, bound.bound);
}
