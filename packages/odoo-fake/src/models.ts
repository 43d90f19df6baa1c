import type { OdooMajor } from "./dialect.ts";
import { adminUserUnlink } from "./dialect.ts";
import type { OdooFault } from "./faults.ts";

export type FakeFieldType =
  | "char"
  | "text"
  | "html"
  | "boolean"
  | "integer"
  | "float"
  | "date"
  | "datetime"
  | "selection"
  | "many2one"
  | "one2many"
  | "many2many";

export interface FakeField {
  type: FakeFieldType;
  /** The label (`string` in fields_get). */
  string: string;
  relation?: string;
  required?: boolean;
  readonly?: boolean;
  selection?: [string, string][];
  default?: unknown;
  /** one2many: the field of `relation` that points back (read-only here; filled by the ORM). */
  inverse?: string;
}

export type AclOperation = "read" | "create" | "write" | "unlink";

/** A stored row: field values in Odoo's cache format (many2one = id | false, x2many = ids). */
export type FakeRow = Record<string, unknown> & { id: number };

export interface FakeModelContext {
  version: OdooMajor;
  /** Reads a stored row of any model (undefined when it does not exist). */
  row(model: string, id: number): FakeRow | undefined;
}

export interface FakeModel {
  name: string;
  /** `_description`, used in access-error messages. */
  description: string;
  fields: Record<string, FakeField>;
  /** `_order`; defaults to `"id"`. `display_name` may be used. */
  order?: string;
  /** Groups allowed per operation; missing operation = everybody. Admin users pass. */
  acl?: Partial<Record<AclOperation, readonly string[]>>;
  /**
   * The model has record rules for non-superusers (res.partner's multi-company rules). Up to 17
   * only those make `write` notice a deleted record (see FakeStore.write).
   */
  recordRules?: boolean;
  /** SQL unique constraints, reported as ValidationError with their message. */
  unique?: { fields: string[]; message: string }[];
  /** Python constraints: return a ValidationError message for a bad row. */
  constraints?: ((row: FakeRow, ctx: FakeModelContext) => string | undefined)[];
  displayName?: (row: FakeRow, ctx: FakeModelContext) => string;
  /** Veto an unlink (e.g. the admin user); ids all exist. */
  beforeUnlink?: (ids: number[], ctx: FakeModelContext) => OdooFault | undefined;
  /** Inherits mail.thread: has `message_ids` and answers `message_post` (the chatter). */
  chatter?: boolean;
  /** Extra `@api.model` methods returning JSON-able values (e.g. res.users.context_get). */
  modelMethods?: Record<string, (env: { uid: number; ctx: FakeModelContext }) => unknown>;
}

const char = (string: string, extra: Partial<FakeField> = {}): FakeField => ({
  type: "char",
  string,
  ...extra,
});

function partnerParentChainLoops(row: FakeRow, ctx: FakeModelContext): boolean {
  const seen = new Set<number>([row.id]);
  let parent = row.parent_id;
  while (typeof parent === "number") {
    if (seen.has(parent)) return true;
    seen.add(parent);
    parent = ctx.row("res.partner", parent)?.parent_id;
  }
  return false;
}

/** Odoo shows a contact as "Company, Contact" (commercial partner first). */
function partnerDisplayName(row: FakeRow, ctx: FakeModelContext): string {
  const name = typeof row.name === "string" ? row.name : "";
  if (row.is_company === true || typeof row.parent_id !== "number") return name;
  let commercial = ctx.row("res.partner", row.parent_id);
  while (commercial && commercial.is_company !== true && typeof commercial.parent_id === "number") {
    commercial = ctx.row("res.partner", commercial.parent_id);
  }
  return commercial ? `${String(commercial.name || "")}, ${name}` : name;
}

const ADMIN_UID = 2;

export function builtinModels(version: OdooMajor): FakeModel[] {
  return [
    {
      name: "res.partner",
      description: "Contact",
      order: "display_name, id desc",
      fields: {
        name: char("Name"),
        parent_id: { type: "many2one", string: "Related Company", relation: "res.partner" },
        is_company: { type: "boolean", string: "Is a Company", default: false },
        category_id: { type: "many2many", string: "Tags", relation: "res.partner.category" },
        country_id: { type: "many2one", string: "Country", relation: "res.country" },
        email: char("Email"),
        phone: char("Phone"),
        ref: char("Reference"),
        comment: { type: "html", string: "Notes" },
        active: { type: "boolean", string: "Active", default: true },
      },
      // Odoo 19 moved partner creation into its own group (recorded: v19-create-single).
      ...(version >= 19 ? { acl: { create: ["Contact/Creation"] } } : {}),
      recordRules: true,
      constraints: [
        (row, ctx) =>
          partnerParentChainLoops(row, ctx) ? "You cannot create recursive Partner hierarchies." : undefined,
      ],
      displayName: partnerDisplayName,
    },
    {
      name: "res.partner.category",
      description: "Partner Tags",
      fields: { name: char("Tag Name", { required: true }) },
    },
    {
      name: "res.country",
      description: "Country",
      fields: { name: char("Country Name", { required: true }), code: char("Country Code") },
    },
    {
      name: "res.users",
      description: "User",
      fields: {
        name: char("Name"),
        login: char("Login", { required: true }),
        partner_id: { type: "many2one", string: "Related Partner", relation: "res.partner" },
        lang: char("Language", { default: "en_US" }),
        tz: char("Timezone"),
        active: { type: "boolean", string: "Active", default: true },
      },
      unique: [{ fields: ["login"], message: "You can not have two users with the same login!" }],
      beforeUnlink: (ids, ctx) => (ids.includes(ADMIN_UID) ? adminUserUnlink(ctx.version) : undefined),
      modelMethods: {
        context_get: ({ uid, ctx }) => {
          const user = ctx.row("res.users", uid);
          return { lang: user?.lang ?? "en_US", tz: user?.tz ?? false, uid };
        },
      },
    },
    {
      name: "ir.cron",
      description: "Scheduled Actions",
      fields: {
        name: char("Name", { required: true }),
        active: { type: "boolean", string: "Active", default: true },
      },
      acl: {
        read: ["Administration/Settings"],
        create: ["Administration/Settings"],
        write: ["Administration/Settings"],
        unlink: ["Administration/Settings"],
      },
    },
    {
      // The chatter's messages (mail.thread's message_post writes them).
      name: "mail.message",
      description: "Message",
      order: "id desc",
      fields: {
        model: char("Related Document Model"),
        res_id: { type: "integer", string: "Related Document ID" },
        body: { type: "html", string: "Contents" },
        message_type: char("Type", { default: "notification" }),
        subtype_xmlid: char("Subtype"),
        author_id: { type: "many2one", string: "Author", relation: "res.partner" },
      },
    },
    clusterModel(),
    applicationModel(),
    catalogEntryModel(),
  ];
}

/** A one2many `message_ids` as mail.thread adds it (its rows are mail.message's with model/res_id). */
const MESSAGE_IDS: FakeField = {
  type: "one2many",
  string: "Messages",
  relation: "mail.message",
  inverse: "res_id",
  readonly: true,
};

/**
 * Workspace Hub's applications (docs/odoo-integration.md): configuration owned by Odoo (a
 * record without instance_id is a "Deploy app" request), runtime owned by the control plane.
 * `cluster_id` is a many2one to the Cluster Registry, read back as `[id, name]`.
 */
export function applicationModel(
  options: { extraFields?: Record<string, FakeField>; without?: string[] } = {},
): FakeModel {
  const fields: Record<string, FakeField> = {
    instance_id: char("Instance ID"),
    name: char("Name", { required: true }),
    namespace: char("Namespace"),
    catalog_entry: char("Catalog Entry"),
    hostname: char("Hostname"),
    values: { type: "text", string: "Values (JSON)" },
    cluster_id: { type: "many2one", string: "Cluster", relation: "vws.cluster" },
    active: { type: "boolean", string: "Active", default: true },
    state: {
      type: "selection",
      string: "State",
      selection: [
        ["requested", "Requested"],
        ["deploying", "Deploying"],
        ["deployed", "Deployed"],
        ["not_ready", "Not Ready"],
        ["degraded", "Degraded"],
        ["failed", "Failed"],
        ["deleting", "Deleting"],
        ["deleted", "Deleted"],
        ["refused", "Refused"],
      ],
    },
    state_reason: { type: "text", string: "State Reason" },
    url: char("URL"),
    ready_since: { type: "datetime", string: "Ready Since" },
    chart_version: char("Chart Version"),
    last_job_id: char("Last Job"),
    sync_error: { type: "text", string: "Sync Error" },
    ...options.extraFields,
  };
  for (const name of options.without ?? []) delete fields[name];
  return {
    name: "vws.application.instance",
    description: "Application Instance",
    fields,
    unique: [{ fields: ["instance_id"], message: "The instance ID must be unique." }],
  };
}

/** The catalog the control plane pushes, so that Odoo's Deploy app form can offer it. */
export function catalogEntryModel(): FakeModel {
  return {
    name: "vws.catalog.entry",
    description: "Catalog Entry",
    fields: {
      code: char("Code", { required: true }),
      name: char("Name", { required: true }),
      chart_name: char("Chart Name"),
      chart_version: char("Chart Version"),
      chart_url: char("Chart URL"),
      active: { type: "boolean", string: "Active", default: true },
    },
    unique: [{ fields: ["code"], message: "The catalog code must be unique." }],
  };
}

/**
 * The model the control plane syncs, as docs/odoo-integration.md describes it: configuration
 * owned by Odoo, runtime owned by the control plane, the optional fields included. `extraFields`
 * adds fields (e.g. the organization field); `without` leaves optional ones out.
 */
export function clusterModel(
  options: { extraFields?: Record<string, FakeField>; without?: string[]; chatter?: boolean } = {},
): FakeModel {
  const chatter = options.chatter ?? true;
  const fields: Record<string, FakeField> = {
    ...clusterFields(),
    ...(chatter ? { message_ids: MESSAGE_IDS } : {}),
    ...options.extraFields,
  };
  for (const name of options.without ?? []) delete fields[name];
  return {
    name: "vws.cluster",
    description: "Cluster",
    chatter,
    fields,
    unique: [{ fields: ["cluster_id"], message: "The cluster ID must be unique." }],
  };
}

function clusterFields(): Record<string, FakeField> {
  return {
    // Not required: admins create records in Odoo first; the control plane writes the UUID back.
    cluster_id: char("Cluster ID"),
    slug: char("Slug"),
    name: char("Name", { required: true }),
    state: {
      type: "selection",
      string: "State",
      default: "pending",
      selection: [
        ["pending", "Pending"],
        ["connected", "Connected"],
        ["disconnected", "Disconnected"],
        ["disabled", "Disabled"],
      ],
    },
    last_heartbeat: { type: "datetime", string: "Last Heartbeat" },
    operator_version: char("Operator Version"),
    flux_version: char("Flux Version"),
    velero_version: char("Velero Version"),
    connectivity_mode: {
      type: "selection",
      string: "Connectivity Mode",
      default: "pull",
      selection: [
        ["pull", "Pull"],
        ["push", "Push"],
        ["gitops", "GitOps"],
      ],
    },
    allowed_namespaces: { type: "text", string: "Allowed Namespaces" },
    active: { type: "boolean", string: "Active", default: true },
    kubernetes_version: char("Kubernetes Version"),
    last_seen: { type: "datetime", string: "Last Seen" },
    health_message: { type: "text", string: "Health" },
    sync_error: { type: "text", string: "Sync Error" },
  };
}
