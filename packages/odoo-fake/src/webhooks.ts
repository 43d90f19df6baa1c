import type { OdooMajor } from "./dialect.ts";
import { pyJsonDumps } from "./py-json.ts";
import type { JournalEntry } from "./stamps.ts";
import type { FakeStore } from "./store.ts";

/**
 * An automated action "Send Webhook Notification" (base_automation, Odoo 17+), posting `_model`,
 * `_id`, `_action` and the `payloadFields` of the record. Trigger "on create and edit" (the
 * default; edits only when one of `triggerFields` changed) or "on deletion".
 */
export interface FakeAutomation {
  model: string;
  url: string;
  trigger?: "on_create_or_write" | "on_unlink";
  /** `trigger_field_ids`: an edit fires only when one of these changed; empty = any edit. */
  triggerFields?: string[];
  /** `webhook_field_ids`: fields read into the payload (with `load=None`). */
  payloadFields?: string[];
  name?: string;
}

export interface WebhookDelivery {
  url: string;
  body: string;
  /** The HTTP status, or why there was none (Odoo only logs it). */
  outcome: number | string;
}

/** A webhook ready to post: its payload is read inside the transaction that fired it. */
export interface PendingWebhook {
  url: string;
  body: string;
}

/** Odoo 17 posts during the save, before its transaction commits; 19 posts after the commit. */
export const postsBeforeCommit = (version: OdooMajor) => version <= 17;

/** Odoo waits this long for the receiver, then logs a warning and goes on. */
const WEBHOOK_TIMEOUT_MS = 1_000;

export function webhooksFor(
  automations: readonly FakeAutomation[],
  entry: JournalEntry,
  draft: FakeStore,
): PendingWebhook[] {
  const ids = entry.kind === "create" ? entry.rows.map((row) => row.id) : entry.ids;
  const pending: PendingWebhook[] = [];
  automations.forEach((automation, index) => {
    if (automation.model !== entry.model) return;
    if ((entry.kind === "unlink") !== (automation.trigger === "on_unlink")) return;
    if (entry.kind === "write" && automation.triggerFields?.length) {
      if (!automation.triggerFields.some((field) => entry.changed.includes(field))) return;
    }
    const action = `${automation.name ?? "Send Webhook Notification"}(#${index + 1})`;
    for (const id of ids) {
      // Odoo reads the fields before the deletion; the fake's journal has the record gone already.
      const [values] =
        automation.payloadFields?.length && entry.kind !== "unlink"
          ? draft.read(entry.model, [id], automation.payloadFields, null)
          : [{}];
      const payload = { ...values, _model: entry.model, _id: id, _action: action };
      pending.push({ url: automation.url, body: pyJsonDumps(sortKeys(payload)) });
    }
  });
  return pending;
}

/** `json.dumps(vals, sort_keys=True)`. */
function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, value[key]]),
  );
}

/** "Send and forget" with a one-second timeout, as Odoo does; failures are only recorded. */
export async function postWebhook(webhook: PendingWebhook, deliveries: WebhookDelivery[]) {
  let outcome: number | string;
  try {
    const response = await fetch(webhook.url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: webhook.body,
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    outcome = response.status;
  } catch (error) {
    outcome = error instanceof Error ? error.message : String(error);
  }
  deliveries.push({ url: webhook.url, body: webhook.body, outcome });
}
