import { type OdooMajor, SERVER_VERSIONS } from "./dialect.ts";
import type { FakeUser } from "./methods.ts";
import type { FakeStore } from "./store.ts";

/** Version info as `common.version` reports it. */
export function versionInfo(version: OdooMajor, serverVersion?: string) {
  const server = serverVersion ?? SERVER_VERSIONS[version];
  return {
    server_version: server,
    server_version_info: [version, 0, 0, "final", 0, ""],
    server_serie: `${version}.0`,
    protocol_version: 1,
  };
}

const VIEW_INFO = {
  list: { display_name: "List", icon: "oi oi-view-list", multi_record: true },
  form: { display_name: "Form", icon: "fa fa-address-card", multi_record: false },
  graph: { display_name: "Graph", icon: "fa fa-area-chart", multi_record: true },
  pivot: { display_name: "Pivot", icon: "oi oi-view-pivot", multi_record: true },
  calendar: { display_name: "Calendar", icon: "fa fa-calendar", multi_record: true },
  kanban: { display_name: "Kanban", icon: "oi oi-view-kanban", multi_record: true },
};

/**
 * The head of `/web/session/authenticate`'s answer (recorded for 19, truncated by the recorder
 * after 1500 characters); the web client's many other keys are of no use to an API client.
 */
export function sessionInfo(
  store: FakeStore,
  user: FakeUser,
  db: string,
  baseUrl: string,
  serverVersion?: string,
) {
  const row = store.row("res.users", user.uid);
  const partnerId = typeof row?.partner_id === "number" ? row.partner_id : false;
  const partner = typeof partnerId === "number" ? store.row("res.partner", partnerId) : undefined;
  const version = versionInfo(store.version, serverVersion);
  return {
    uid: user.uid,
    is_system: user.admin,
    is_admin: user.admin,
    is_public: false,
    is_internal_user: true,
    user_context: { lang: row?.lang ?? "en_US", tz: row?.tz ?? false, uid: user.uid },
    db,
    registry_hash: "0".repeat(64),
    user_settings: { id: user.settingsId, embedded_actions_config_ids: {}, user_id: { id: user.uid } },
    server_version: version.server_version,
    server_version_info: version.server_version_info,
    support_url: "https://www.odoo.com/buy",
    name: user.name,
    username: user.login,
    quick_login: true,
    // Stored to the microsecond; shown, like every datetime, in whole seconds.
    partner_write_date: typeof partner?.write_date === "string" ? partner.write_date.slice(0, 19) : false,
    partner_display_name: typeof partnerId === "number" ? store.displayName("res.partner", partnerId) : false,
    partner_id: partnerId,
    "web.base.url": baseUrl,
    active_ids_limit: 20000,
    profile_session: null,
    profile_collectors: null,
    profile_params: null,
    max_file_upload_size: 134217728,
    home_action_id: false,
    currencies: { "1": { name: "USD", symbol: "$", position: "before", digits: [69, 2] } },
    bundle_params: { lang: row?.lang ?? "en_US" },
    test_mode: false,
    view_info: VIEW_INFO,
  };
}
