import type { OdooMajor } from "./dialect.ts";
import type { FakeStore } from "./store.ts";
import {
  type FakeAutomation,
  type PendingWebhook,
  postsBeforeCommit,
  postWebhook,
  type WebhookDelivery,
  webhooksFor,
} from "./webhooks.ts";

/** What a transaction needs from the fake it runs in. */
export interface TransactionHost {
  version: OdooMajor;
  store: FakeStore;
  clock: () => Date;
  automations: FakeAutomation[];
  deliveries: WebhookDelivery[];
}

const ADMIN_UID = 2;

/**
 * One Odoo transaction (every RPC call is one; a user's form save is one too, and may stay open
 * for a while). It sees the committed rows as of its start (Odoo runs REPEATABLE READ), stamps
 * every change with its start time (`cr.now()`), and nobody else sees its changes before
 * `commit()`. So a transaction that commits late carries a `write_date` older than changes
 * committed meanwhile. Webhooks fire during the change on 17 and after the commit on 19.
 */
export class FakeTransaction {
  readonly draft: FakeStore;
  private settled = 0;
  private readonly afterCommit: PendingWebhook[] = [];
  private open = true;

  constructor(private readonly host: TransactionHost) {
    this.draft = host.store.snapshot(host.clock());
  }

  async create(model: string, vals: Record<string, unknown>, uid = ADMIN_UID): Promise<number> {
    this.ensureOpen();
    const [id] = this.draft.create(model, [vals], uid);
    await this.settle();
    return id as number;
  }

  async write(model: string, ids: number[], vals: Record<string, unknown>, uid = ADMIN_UID) {
    this.ensureOpen();
    this.draft.write(model, ids, vals, uid);
    await this.settle();
  }

  async unlink(model: string, ids: number[], uid = ADMIN_UID) {
    this.ensureOpen();
    this.draft.unlink(model, ids, uid);
    await this.settle();
  }

  /** Reads as the transaction itself sees the rows (its own changes included). */
  read(model: string, ids: number[], fields?: string[]) {
    return this.draft.read(model, ids, fields, "_classic_read");
  }

  /** Fires the automations of the changes made since the last call (Odoo runs them in the write). */
  async settle(): Promise<void> {
    const journal = this.draft.journal ?? [];
    const entries = journal.slice(this.settled);
    this.settled = journal.length;
    const webhooks = entries.flatMap((entry) => webhooksFor(this.host.automations, entry, this.draft));
    if (!postsBeforeCommit(this.host.version)) {
      this.afterCommit.push(...webhooks);
      return;
    }
    // Odoo 17 posts synchronously inside the save: the receiver hears of a change nobody can read yet.
    for (const webhook of webhooks) await postWebhook(webhook, this.host.deliveries);
  }

  /** Makes the changes visible (stamped with the transaction's start), then Odoo 19's webhooks. */
  async commit(): Promise<void> {
    this.ensureOpen();
    await this.settle();
    this.open = false;
    this.host.store.commit(this.draft);
    for (const webhook of this.afterCommit) await postWebhook(webhook, this.host.deliveries);
  }

  rollback(): void {
    this.open = false;
  }

  get changed(): boolean {
    return (this.draft.journal?.length ?? 0) > 0;
  }

  private ensureOpen() {
    if (!this.open) throw new Error("the transaction has ended");
  }
}
