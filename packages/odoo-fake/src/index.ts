export type { OdooMajor } from "./dialect.ts";
export type { FakeFailure } from "./failures.ts";
export { DEFAULT_FAKE_API_KEY, type FakeOdoo, type FakeRequestRecord, startFakeOdoo } from "./fake-odoo.ts";
export type { FakeUser } from "./methods.ts";
export type { AclOperation, FakeField, FakeFieldType, FakeModel, FakeRow } from "./models.ts";
export { applicationModel, catalogEntryModel, clusterModel } from "./models.ts";
export type { FakeOdooOptions, FakeUserInit } from "./options.ts";
export type { FakeTransaction } from "./transaction.ts";
export type { FakeAutomation, WebhookDelivery } from "./webhooks.ts";
