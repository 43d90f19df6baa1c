import type { OdooMajor } from "./dialect.ts";
import type { FakeModel } from "./models.ts";

export interface FakeUserInit {
  uid: number;
  login: string;
  name?: string;
  apiKey?: string;
  password?: string;
  groups?: string[];
  /** Admins pass every ACL. Defaults to false for extra users. */
  admin?: boolean;
  /** Partner row of the user; created (named after the user) unless it is given. */
  partnerId?: number;
}

export interface FakeOdooOptions {
  version: OdooMajor;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Defaults to `odoo<version>`. */
  db?: string;
  /** The default user (uid 2, admin): login, API key and password. */
  login?: string;
  apiKey?: string;
  password?: string;
  /** Partner row of the default user; one named "Administrator" is created when omitted. */
  adminPartnerId?: number;
  users?: FakeUserInit[];
  /** Extra models, or replacements of built-in ones (same name). */
  models?: FakeModel[];
  /** Built-in models to leave out (e.g. `vws.cluster`, to see Odoo's unknown-model error). */
  omitModels?: string[];
  serverVersion?: string;
  /** Source of create_date/write_date. */
  clock?: () => Date;
}
