import { aclDenied, privateMethod, unknownMethod, unknownModel } from "./dialect.ts";
import { fault } from "./faults.ts";
import { fieldsGet } from "./fields-get.ts";
import type { AclOperation } from "./models.ts";
import type { FakeStore } from "./store.ts";

export interface FakeUser {
  uid: number;
  login: string;
  name: string;
  apiKey?: string;
  password?: string;
  /** Group names as Odoo prints them ("Administration/Settings"); admins pass every ACL. */
  groups: string[];
  admin: boolean;
  /** Id of the user's res.users.settings row (Odoo creates one per user, in order). */
  settingsId: number;
}

export interface CallEnv {
  store: FakeStore;
  user: FakeUser;
  context: Record<string, unknown>;
}

interface Param {
  name: string;
  required?: boolean;
}

export interface MethodSpec {
  onRecords: boolean;
  params: Param[];
  acl?: AclOperation;
  run: (env: CallEnv, model: string, ids: number[], args: Record<string, unknown>) => unknown;
}

const asStrings = (value: unknown) => (Array.isArray(value) ? (value as string[]) : undefined);
const asNumber = (value: unknown) => (typeof value === "number" ? value : undefined);
const asString = (value: unknown) => (typeof value === "string" ? value : undefined);

function searchParams(env: CallEnv, args: Record<string, unknown>) {
  return {
    offset: asNumber(args.offset) ?? 0,
    limit: asNumber(args.limit) ?? null,
    order: asString(args.order) ?? null,
    activeTest: env.context.active_test !== false,
  };
}

const METHODS: Record<string, MethodSpec> = {
  search_read: {
    onRecords: false,
    acl: "read",
    params: [
      { name: "domain" },
      { name: "fields" },
      { name: "offset" },
      { name: "limit" },
      { name: "order" },
      { name: "load" },
    ],
    run: (env, model, _ids, args) => {
      const ids = env.store.search(model, args.domain ?? [], searchParams(env, args));
      return env.store.read(model, ids, asStrings(args.fields), "load" in args ? args.load : "_classic_read");
    },
  },
  search: {
    onRecords: false,
    acl: "read",
    params: [{ name: "domain", required: true }, { name: "offset" }, { name: "limit" }, { name: "order" }],
    run: (env, model, _ids, args) => env.store.search(model, args.domain, searchParams(env, args)),
  },
  search_count: {
    onRecords: false,
    acl: "read",
    params: [{ name: "domain", required: true }, { name: "limit" }],
    run: (env, model, _ids, args) => {
      const count = env.store.search(model, args.domain, searchParams(env, {})).length;
      const limit = asNumber(args.limit);
      return limit ? Math.min(count, limit) : count;
    },
  },
  read: {
    onRecords: true,
    acl: "read",
    params: [{ name: "fields" }, { name: "load" }],
    run: (env, model, ids, args) => {
      const existing = env.store.browse(model, ids, env.user.uid, false);
      return env.store.read(
        model,
        existing,
        asStrings(args.fields),
        "load" in args ? args.load : "_classic_read",
      );
    },
  },
  create: {
    onRecords: false,
    acl: "create",
    params: [{ name: "vals_list", required: true }],
    run: (env, model, _ids, args) => {
      const vals = args.vals_list;
      const list = Array.isArray(vals) ? vals : [vals];
      if (!list.every((item) => item !== null && typeof item === "object" && !Array.isArray(item))) {
        throw fault.valueError("create() expects a dict or a list of dicts");
      }
      return env.store.create(model, list as Record<string, unknown>[], env.user.uid);
    },
  },
  write: {
    onRecords: true,
    acl: "write",
    params: [{ name: "vals", required: true }],
    run: (env, model, ids, args) => {
      if (args.vals === null || typeof args.vals !== "object" || Array.isArray(args.vals)) {
        throw fault.valueError("write() expects a dict");
      }
      env.store.write(model, ids, args.vals as Record<string, unknown>, env.user.uid);
      return true;
    },
  },
  unlink: {
    onRecords: true,
    acl: "unlink",
    params: [],
    run: (env, model, ids) => {
      env.store.unlink(model, ids, env.user.uid);
      return true;
    },
  },
  // mail.thread's: posts on each record's chatter, answers the (last) message's id. The record
  // itself is not written (its write_date stays).
  message_post: {
    onRecords: true,
    acl: "read",
    params: [{ name: "body" }, { name: "subject" }, { name: "message_type" }, { name: "subtype_xmlid" }],
    run: (env, model, ids, args) => {
      const existing = env.store.browse(model, ids, env.user.uid, true);
      if (existing.length !== 1) throw fault.valueError(`Expected singleton: ${model}(${ids.join(", ")})`);
      const partner = env.store.row("res.users", env.user.uid)?.partner_id;
      const [id] = env.store.create(
        "mail.message",
        [
          {
            model,
            res_id: existing[0],
            body: typeof args.body === "string" ? args.body : false,
            message_type: asString(args.message_type) ?? "notification",
            subtype_xmlid: asString(args.subtype_xmlid) ?? false,
            author_id: typeof partner === "number" ? partner : false,
          },
        ],
        env.user.uid,
      );
      return id;
    },
  },
  fields_get: {
    onRecords: false,
    params: [{ name: "allfields" }, { name: "attributes" }],
    run: (env, model, _ids, args) =>
      fieldsGet(env.store, model, asStrings(args.allfields), asStrings(args.attributes)),
  },
};

/** Resolves model and method as Odoo does, including its version-specific order of checks. */
export function resolveMethod(store: FakeStore, model: string, method: string): MethodSpec {
  const version = store.version;
  const isPrivate = method.startsWith("_");
  if (isPrivate && version <= 17) throw privateMethod(version, model, method);
  if (!store.has(model)) throw unknownModel(model);
  if (isPrivate) throw privateMethod(version, model, method);
  const custom = store.model(model).modelMethods?.[method];
  if (custom) {
    return { onRecords: false, params: [], run: (env) => custom({ uid: env.user.uid, ctx: env.store.ctx }) };
  }
  const spec = METHODS[method];
  if (!spec || (method === "message_post" && !store.model(model).chatter)) {
    throw unknownMethod(version, model, method);
  }
  return spec;
}

export function checkAcl(env: CallEnv, model: string, spec: MethodSpec): void {
  if (!spec.acl || env.user.admin) return;
  const definition = env.store.model(model);
  const groups = definition.acl?.[spec.acl];
  if (groups && !groups.some((group) => env.user.groups.includes(group))) {
    throw aclDenied(spec.acl, definition.description, model, groups);
  }
}
