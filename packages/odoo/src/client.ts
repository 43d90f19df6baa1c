import { z } from "zod";
import { type OdooCallEvent, observeCall } from "./call-events.ts";
import { createCrudHelpers } from "./crud.ts";
import { OdooError, type OdooErrorKind } from "./errors.ts";
import type { FetchLike, HttpDeps } from "./http.ts";
import { fromExecuteKw, type OrmCall, toExecuteKw, toJson2Body } from "./orm-call.ts";
import { AuthenticateResult, ContextGetResult, majorVersion, OdooVersion } from "./schemas.ts";
import { callJson2, callJsonRpc } from "./transport.ts";

export type { OdooCallEvent } from "./call-events.ts";
export type OdooProtocol = "jsonrpc" | "json2";
/** The `ODOO_PROTOCOL` setting. */
export const OdooProtocolSetting = z.enum(["auto", "jsonrpc", "json2"]);
export type OdooProtocolSetting = z.infer<typeof OdooProtocolSetting>;

/** First Odoo major version whose JSON-2 API `auto` uses. */
export const JSON2_MIN_MAJOR = 19;

/** The protocol in use and, when `auto` asked, the server's version string. */
export interface DetectedServer {
  protocol: OdooProtocol;
  serverVersion: string | undefined;
}

/** Errors after which the server is asked again which version it runs. */
const RECONNECT_KINDS = new Set<OdooErrorKind>(["network", "timeout", "protocol", "unknown_database"]);

export interface OdooClientOptions {
  url: string;
  db: string;
  login: string;
  apiKey: string;
  protocol?: OdooProtocolSetting;
  /** Per HTTP request, body included. Defaults to 30 s. */
  timeoutMs?: number;
  fetch?: FetchLike;
  /** Called after every HTTP exchange; carries no arguments and never the key. */
  onCall?: (event: OdooCallEvent) => void;
}

export function createOdooClient(options: OdooClientOptions) {
  const baseUrl = options.url.replace(/\/+$/, "");
  const setting = OdooProtocolSetting.parse(options.protocol ?? "auto");
  const deps: HttpDeps = {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: options.timeoutMs ?? 30_000,
    secrets: [options.apiKey],
  };
  let nextRpcId = 1;
  let detected: Promise<OdooProtocol> | undefined;
  let server: DetectedServer | undefined;
  let uid: Promise<number> | undefined;

  const observe = <T>(transport: OdooProtocol, target: string, run: () => Promise<T>) =>
    observeCall(options.onCall, transport, target, run);

  function rpc(service: string, method: string, args: unknown[], call?: OrmCall) {
    const target = call ? `${call.model}.${call.method}` : `${service}.${method}`;
    return observe("jsonrpc", target, () =>
      callJsonRpc(deps, {
        baseUrl,
        service,
        serviceMethod: method,
        args,
        id: nextRpcId++,
        model: call?.model,
        method: call?.method ?? method,
      }),
    );
  }

  function json2(call: OrmCall) {
    return observe("json2", `${call.model}.${call.method}`, () =>
      callJson2(deps, {
        baseUrl,
        db: options.db,
        apiKey: options.apiKey,
        model: call.model,
        method: call.method,
        body: toJson2Body(call),
      }),
    );
  }

  function invalid(transport: OdooProtocol, what: string, error: z.ZodError, call?: OrmCall): never {
    throw new OdooError({
      transport,
      kind: "protocol",
      retryable: false,
      message: `unexpected Odoo response to ${what}: ${z.prettifyError(error)}`,
      secrets: deps.secrets,
      model: call?.model,
      method: call?.method,
    });
  }

  /** `common.version` over JSON-RPC; needs no credentials (also served by Odoo 19). */
  async function version(): Promise<OdooVersion> {
    const result = await rpc("common", "version", []);
    const parsed = OdooVersion.safeParse(result);
    return parsed.success ? parsed.data : invalid("jsonrpc", "common.version", parsed.error);
  }

  /**
   * Which transport calls use; `auto` asks the server once per connection (JSON-2 from Odoo 19)
   * and again only after a connection or protocol error (see `forgetConnection`).
   */
  function protocol(): Promise<OdooProtocol> {
    if (setting !== "auto") return Promise.resolve(setting);
    detected ??= version().then(
      (info) => {
        const picked: OdooProtocol = majorVersion(info) >= JSON2_MIN_MAJOR ? "json2" : "jsonrpc";
        server = { protocol: picked, serverVersion: info.server_version };
        return picked;
      },
      (error: unknown) => {
        detected = undefined;
        throw probeFailed(error);
      },
    );
    return detected;
  }

  /** An outage met by the probe names /jsonrpc even on a JSON-2 setup: say it was the probe. */
  function probeFailed(error: unknown): unknown {
    if (!(error instanceof OdooError)) return error;
    return new OdooError({
      transport: error.transport,
      ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
      kind: error.kind,
      retryable: error.retryable,
      message: `detecting the Odoo version (ODOO_PROTOCOL=auto): ${error.message}`,
      secrets: deps.secrets,
    });
  }

  /** What `auto` found, without asking: undefined before the first call of a connection. */
  function detectedServer(): DetectedServer | undefined {
    return setting === "auto" ? server : { protocol: setting, serverVersion: undefined };
  }

  /**
   * After a connection or protocol error the server may have changed (an upgrade behind the
   * outage): the next call detects the version again and logs in again.
   */
  function forgetConnection(error: unknown) {
    if (!(error instanceof OdooError) || !RECONNECT_KINDS.has(error.kind)) return;
    detected = undefined;
    server = undefined;
    uid = undefined;
  }

  async function authenticateOnce(): Promise<number> {
    if ((await protocol()) === "json2") {
      // JSON-2 has no login step: the key is the user; context_get tells which uid it is.
      const result = await json2({ model: "res.users", method: "context_get", positional: [], kwargs: {} });
      const parsed = ContextGetResult.safeParse(result);
      return parsed.success ? parsed.data.uid : invalid("json2", "res.users.context_get", parsed.error);
    }
    const args = [options.db, options.login, options.apiKey, {}];
    const result = AuthenticateResult.safeParse(await rpc("common", "authenticate", args));
    if (!result.success) return invalid("jsonrpc", "common.authenticate", result.error);
    if (result.data === false) {
      // Odoo catches its own AccessDenied and answers `false`; give it back its name.
      throw new OdooError({
        transport: "jsonrpc",
        name: "odoo.exceptions.AccessDenied",
        message: `Access Denied: Odoo rejected login "${options.login}" on database "${options.db}"`,
        secrets: deps.secrets,
      });
    }
    return result.data;
  }

  /** Checks the credentials; returns the uid (cached for execute_kw). */
  function authenticate(): Promise<number> {
    uid = authenticateOnce();
    uid.catch(() => {
      uid = undefined;
    });
    return uid;
  }

  async function invoke(call: OrmCall): Promise<unknown> {
    try {
      return await invokeOnce(call);
    } catch (error) {
      forgetConnection(error);
      throw error;
    }
  }

  async function invokeOnce(call: OrmCall): Promise<unknown> {
    if ((await protocol()) === "json2") {
      const result = await json2(call);
      // JSON-2 returns `create`'s recordset as ids even for one dict; execute_kw returns the id.
      const vals = call.positional[0]?.[1];
      const single = call.method === "create" && vals !== null && typeof vals === "object";
      if (single && !Array.isArray(vals) && Array.isArray(result) && result.length === 1) {
        return result[0];
      }
      return result;
    }
    const userId = await (uid ?? authenticate());
    try {
      return await rpc(
        "object",
        "execute_kw",
        [options.db, userId, options.apiKey, ...toExecuteKw(call)],
        call,
      );
    } catch (error) {
      if (error instanceof OdooError && error.kind === "access_denied") uid = undefined;
      throw error;
    }
  }

  async function invokeParsed<S extends z.ZodType>(call: OrmCall, schema: S): Promise<z.output<S>> {
    const result = await invoke(call);
    const parsed = schema.safeParse(result);
    if (parsed.success) return parsed.data;
    return invalid(await protocol(), `${call.model}.${call.method}`, parsed.error, call);
  }

  /** `execute_kw(model, method, args, kwargs)`; on JSON-2 positional args are named for you. */
  async function executeKw(
    model: string,
    method: string,
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> = {},
  ): Promise<unknown> {
    return invoke(fromExecuteKw(model, method, args, kwargs));
  }

  /** Named-argument call: the JSON-2 body as is, or execute_kw with `ids` first and kwargs. */
  async function call(
    model: string,
    method: string,
    named: { ids?: number[] } & Record<string, unknown> = {},
  ): Promise<unknown> {
    const { ids, ...kwargs } = named;
    return invoke({ model, method, ...(ids ? { ids } : {}), positional: [], kwargs });
  }

  return {
    version,
    protocol,
    detectedServer,
    authenticate,
    executeKw,
    call,
    ...createCrudHelpers(invokeParsed),
  };
}

export type OdooClient = ReturnType<typeof createOdooClient>;
