import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { callTarget } from "./call-target.ts";
import { type FakeFailure, failureResponse } from "./failures.ts";
import { OdooFault, reasonPhrase } from "./faults.ts";
import type { FakeUser } from "./methods.ts";
import { builtinModels, type FakeModel, type FakeRow } from "./models.ts";
import type { FakeOdooOptions, FakeUserInit } from "./options.ts";
import { routeRequest } from "./routes.ts";
import type { FakeResponse, FakeState } from "./state.ts";
import { FakeStore } from "./store.ts";
import { FakeTransaction, type TransactionHost } from "./transaction.ts";
import type { FakeAutomation, WebhookDelivery } from "./webhooks.ts";

export interface FakeRequestRecord {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export const DEFAULT_FAKE_API_KEY = "fake-odoo-api-key-0000000000000000000000";

/** A real HTTP server on 127.0.0.1 that answers like Odoo 16–19 (see packages/odoo/test/fixtures/odoo). */
export async function startFakeOdoo(options: FakeOdooOptions) {
  const version = options.version;
  const clock = options.clock ?? (() => new Date());
  const store = new FakeStore(version, clock);
  const omitted = new Set(options.omitModels ?? []);
  for (const model of builtinModels(version)) if (!omitted.has(model.name)) store.register(model);
  for (const model of options.models ?? []) store.register(model);
  const state: FakeState = {
    version,
    db: options.db ?? `odoo${version}`,
    store,
    users: new Map(),
    sessions: new Map(),
    serverVersion: options.serverVersion,
    baseUrl: "",
  };
  const failures: FakeFailure[] = [];
  const requests: FakeRequestRecord[] = [];
  let latencyMs = 0;
  const transactions: TransactionHost = { version, store, clock, automations: [], deliveries: [] };

  function addUser(init: FakeUserInit): FakeUser {
    const user: FakeUser = {
      uid: init.uid,
      login: init.login,
      name: init.name ?? init.login,
      groups: init.groups ?? [],
      admin: init.admin ?? false,
      settingsId: state.users.size + 1,
      ...(init.apiKey ? { apiKey: init.apiKey } : {}),
      ...(init.password ? { password: init.password } : {}),
    };
    const partnerId = init.partnerId ?? store.create("res.partner", [{ name: user.name }], init.uid, true)[0];
    store.create(
      "res.users",
      [{ id: user.uid, login: user.login, name: user.name, partner_id: partnerId }],
      1,
      true,
    );
    state.users.set(user.uid, user);
    return user;
  }

  // uid 1 is Odoo's superuser ("OdooBot"): the author of everything seeded.
  store.create("res.users", [{ id: 1, login: "__system__", name: "OdooBot", active: false }], 1, true);
  addUser({
    uid: 2,
    login: options.login ?? "admin",
    name: "Administrator",
    apiKey: options.apiKey ?? DEFAULT_FAKE_API_KEY,
    password: options.password ?? "admin",
    admin: true,
    ...(options.adminPartnerId === undefined ? {} : { partnerId: options.adminPartnerId }),
  });
  for (const init of options.users ?? []) addUser(init);

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(", ") : (value ?? ""),
      ]),
    );
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    requests.push({ method: req.method ?? "GET", path, headers, body });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const failure = failures.shift();
    if (failure?.type === "drop") {
      req.socket.destroy();
      return;
    }
    const response: FakeResponse = failure
      ? failureResponse(state, path, body, failure)
      : await inTransaction(path, body, (store) =>
          routeRequest({ ...state, store }, { method: req.method ?? "GET", path, headers, body }),
        );
    if (res.destroyed) return;
    const reason = response.status === 200 ? "OK" : reasonPhrase(response.status).toUpperCase();
    res.writeHead(response.status, reason, {
      ...response.headers,
      "Content-Length": Buffer.byteLength(response.body),
    });
    res.end(response.body);
  }

  /** Every call is a transaction of its own: its webhooks, then (or before, on 17) its commit. */
  async function inTransaction(
    path: string,
    body: string,
    run: (draft: FakeStore) => FakeResponse,
  ): Promise<FakeResponse> {
    const transaction = new FakeTransaction(transactions);
    const response = run(transaction.draft);
    if (!transaction.changed) return response;
    try {
      await transaction.commit();
      return response;
    } catch (error) {
      // A constraint broken by a transaction that committed meanwhile: Odoo answers the error.
      if (!(error instanceof OdooFault)) throw error;
      return failureResponse(state, path, body, {
        type: "odoo",
        name: error.odooName,
        message: error.message,
      });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
      res.end(`fake odoo crashed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  state.baseUrl = url;

  return {
    url,
    version,
    db: state.db,
    store,
    /** Stored rows of a model (copies, by id): many2one as ids, datetimes as Odoo strings. */
    records: (model: string): FakeRow[] => store.rows(model),
    /** Inserts rows as they are (ids, dates and all), without access or constraint checks. */
    seed: (model: string, rows: Record<string, unknown>[]): number[] => store.create(model, rows, 1, true),
    setNextId: (model: string, id: number) => store.setNextId(model, id),
    registerModel: (model: FakeModel) => store.register(model),
    addUser,
    /** Rotates (or, with undefined, revokes) a user's API key. */
    setApiKey: (uid: number, apiKey: string | undefined) => {
      const user = state.users.get(uid);
      if (!user) throw new Error(`no user ${uid}`);
      if (apiKey === undefined) delete user.apiKey;
      else user.apiKey = apiKey;
    },
    /** The next `count` requests fail as described (an outage, a LockError, a dropped socket). */
    failNext: (count: number, failure: FakeFailure) => {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    /**
     * A transaction of an Odoo user, e.g. a form save that takes a while: its changes are
     * stamped now and become visible at `commit()`.
     */
    beginTransaction: () => new FakeTransaction(transactions),
    /** An Odoo user saves a form: one short transaction (webhooks included). */
    edit: async (model: string, id: number, vals: Record<string, unknown>) => {
      const transaction = new FakeTransaction(transactions);
      await transaction.write(model, [id], vals);
      await transaction.commit();
    },
    /** An Odoo user deletes records. */
    delete: async (model: string, ids: number[]) => {
      const transaction = new FakeTransaction(transactions);
      await transaction.unlink(model, ids);
      await transaction.commit();
    },
    /** Adds an automated action "Send Webhook Notification" (Odoo 17+). */
    addAutomation: (automation: FakeAutomation) => {
      if (version < 17) throw new Error("Odoo 16 has no webhook actions");
      transactions.automations.push(automation);
    },
    /** Webhooks posted so far, with what the receiver answered. */
    get webhookDeliveries(): readonly WebhookDelivery[] {
      return [...transactions.deliveries];
    },
    /** What each request asked for: `common.version`, `vws.cluster.write`, ... */
    calls: (): string[] => requests.flatMap((request) => callTarget(request.path, request.body) ?? []),
    callCount: (target: string) =>
      requests.filter((request) => callTarget(request.path, request.body) === target).length,
    /** Delay before every answer, for timeout tests. */
    setLatency: (ms: number) => {
      latencyMs = ms;
    },
    get requestCount() {
      return requests.length;
    },
    get requests(): readonly FakeRequestRecord[] {
      return [...requests];
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export type FakeOdoo = Awaited<ReturnType<typeof startFakeOdoo>>;
