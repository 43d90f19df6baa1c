/**
 * Side effects that leave the database: cache invalidation on other API processes (Redis
 * pub/sub) and the Odoo push (BullMQ). Core services call these after their transaction
 * commits; the apps wire them to Redis. Failures are the caller's to log, never to undo a commit.
 */
export interface ChangeNotifier {
  /** A cluster's registry or runtime fields changed (Odoo bridge pushes it). */
  clusterChanged(clusterId: string): Promise<void>;
  /** Credentials of a cluster were revoked/rotated or the cluster was disabled. */
  clusterAuthChanged(clusterId: string): Promise<void>;
  /**
   * Domain events were committed to the outbox (outbox/outbox.ts): its consumers may read them
   * now. Only a hint: the events wait in the table, and a periodic drain takes what it missed.
   */
  outboxWritten(): Promise<void>;
}

export const silentNotifier: ChangeNotifier = {
  clusterChanged: async () => {},
  clusterAuthChanged: async () => {},
  outboxWritten: async () => {},
};
