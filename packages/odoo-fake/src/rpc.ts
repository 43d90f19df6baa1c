import { randomBytes } from "node:crypto";
import { missingDatabase, rpcMissingArguments } from "./dialect.ts";
import { fault, jsonRpcError, OdooFault } from "./faults.ts";
import { sessionInfo, versionInfo } from "./session.ts";
import {
  checkRpcSecret,
  executeKw,
  type FakeResponse,
  type FakeState,
  jsonResponse,
  userByLogin,
} from "./state.ts";

export type JsonRpcRoute = "/jsonrpc" | "/web/session/authenticate" | "/web/dataset/call_kw";

interface RpcRequest {
  id: unknown;
  params: Record<string, unknown>;
  sessionId: string | undefined;
}

interface RpcOutcome {
  result: unknown;
  cookie?: string;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** Answers a parsed JSON-RPC request on one of Odoo's `type='json'` routes. */
export function handleJsonRpc(
  state: FakeState,
  route: JsonRpcRoute,
  payload: unknown,
  sessionId: string | undefined,
): FakeResponse {
  const request: RpcRequest = {
    id: asRecord(payload).id ?? null,
    params: asRecord(asRecord(payload).params),
    sessionId,
  };
  try {
    const outcome = dispatch(state, route, request);
    const envelope: Record<string, unknown> = { jsonrpc: "2.0", id: request.id };
    // Odoo leaves `result` out when the method returned None.
    if (outcome.result !== null && outcome.result !== undefined) envelope.result = outcome.result;
    const headers: Record<string, string> = outcome.cookie
      ? { "Set-Cookie": `session_id=${outcome.cookie}; Max-Age=604800; HttpOnly; Path=/` }
      : {};
    return jsonResponse(200, envelope, headers);
  } catch (error) {
    if (!(error instanceof OdooFault)) throw error;
    return jsonResponse(200, jsonRpcError(state.version, request.id, error));
  }
}

function dispatch(state: FakeState, route: JsonRpcRoute, request: RpcRequest): RpcOutcome {
  if (route === "/web/session/authenticate") return sessionAuthenticate(state, request.params);
  if (route === "/web/dataset/call_kw") return callKw(state, request);
  const { service, method, args } = request.params;
  const missing = ["service", "method", "args"].filter((name) => !(name in request.params));
  if (missing.length > 0) throw rpcMissingArguments(state.version, missing);
  const list = Array.isArray(args) ? args : [];
  const name = String(method);
  switch (service) {
    case "common":
      return { result: common(state, name, list) };
    case "object":
      return { result: object(state, name, list) };
    case "db":
      if (name === "list") return { result: [state.db] };
      if (name === "server_version")
        return { result: versionInfo(state.version, state.serverVersion).server_version };
      throw fault.exception(`Method not found: ${name}`);
    default:
      throw fault.keyError(String(service));
  }
}

function checkDb(state: FakeState, db: unknown): void {
  if (db !== state.db) throw missingDatabase(String(db));
}

function common(state: FakeState, method: string, args: unknown[]): unknown {
  switch (method) {
    case "version":
      return versionInfo(state.version, state.serverVersion);
    case "login":
    case "authenticate": {
      const [db, login, secret] = args;
      checkDb(state, db);
      const user = userByLogin(state, login);
      // A bad login answers `false`, not an error (recorded: common-auth-badkey).
      return checkRpcSecret(user, secret) && user ? user.uid : false;
    }
    default:
      throw fault.exception(`Method not found: ${method}`);
  }
}

function object(state: FakeState, method: string, args: unknown[]): unknown {
  if (method !== "execute_kw") throw fault.exception(`Method not found: ${method}`);
  const [db, uid, secret, model, methodName, positional, kwargs] = args;
  checkDb(state, db);
  const user = typeof uid === "number" ? state.users.get(uid) : undefined;
  if (!user || !checkRpcSecret(user, secret)) throw fault.accessDenied();
  if (args.length < 5) {
    const names = ["obj", "method", "args"].slice(args.length - 3);
    const plural = names.length === 1 ? "argument" : "arguments";
    throw fault.typeError(
      `execute_kw() missing ${names.length} required positional ${plural}: '${names.join("', '")}'`,
    );
  }
  return executeKw(state, user, String(model), String(methodName), positional, kwargs);
}

/** Web login: passwords only; API keys are refused here (recorded: session-auth-apikey). */
function sessionAuthenticate(state: FakeState, params: Record<string, unknown>): RpcOutcome {
  checkDb(state, params.db);
  const user = userByLogin(state, params.login);
  if (!user?.password || params.password !== user.password) throw fault.accessDenied();
  const sessionId = randomBytes(20).toString("hex");
  state.sessions.set(sessionId, user.uid);
  return {
    result: sessionInfo(state.store, user, state.db, state.baseUrl, state.serverVersion),
    cookie: sessionId,
  };
}

function callKw(state: FakeState, request: RpcRequest): RpcOutcome {
  const uid = request.sessionId ? state.sessions.get(request.sessionId) : undefined;
  const user = uid === undefined ? undefined : state.users.get(uid);
  if (!user || request.sessionId === undefined) throw fault.sessionExpired();
  const { model, method, args, kwargs } = request.params;
  const result = executeKw(state, user, String(model), String(method), args ?? [], kwargs ?? {});
  return { result, cookie: request.sessionId };
}
