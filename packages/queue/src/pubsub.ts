import type { Redis } from "ioredis";
import { createRedis, type RedisTarget } from "./connection.ts";

export type Topic =
  /** A cluster's credentials changed: drop cached credentials (message: cluster id). */
  | "auth-invalidate"
  /** An admin API key was revoked or rotated: drop it from the key cache (message: key id). */
  | "api-key-invalidate"
  /** Jobs became ready for a cluster: wake its waiting polls (message: cluster id). */
  | "jobs-ready";

type Handler = (message: string) => void;

/**
 * One Redis subscriber connection per process, whatever the number of topics, clusters or
 * waiting polls (architecture: "no Redis connection per waiter"). Publishing uses the shared
 * command connection.
 */
export function createPubSub({
  url,
  prefix,
  publisher,
  onResubscribed,
}: {
  url: RedisTarget | string;
  prefix: string;
  publisher: Redis;
  /** Called when the subscriber reconnects: messages sent during the gap are lost. */
  onResubscribed?: () => void;
}) {
  const handlers = new Map<string, Set<Handler>>();
  let subscriber: Redis | undefined;
  const channel = (topic: Topic) => `${prefix}:${topic}`;

  function connection(): Redis {
    if (!subscriber) {
      subscriber = createRedis(url, "blocking");
      subscriber.on("message", (name: string, message: string) => {
        for (const handler of handlers.get(name) ?? []) handler(message);
      });
      // ioredis re-subscribes by itself after a reconnect; "ready" after the first one marks it.
      let connectedOnce = false;
      subscriber.on("ready", () => {
        if (connectedOnce) onResubscribed?.();
        connectedOnce = true;
      });
    }
    return subscriber;
  }

  /** Registers a handler; resolves once Redis confirmed the subscription. */
  async function subscribe(topic: Topic, handler: Handler): Promise<void> {
    const name = channel(topic);
    let set = handlers.get(name);
    if (!set) {
      set = new Set();
      handlers.set(name, set);
      await connection().subscribe(name);
    }
    set.add(handler);
  }

  async function publish(topic: Topic, message: string): Promise<void> {
    await publisher.publish(channel(topic), message);
  }

  function close() {
    subscriber?.disconnect();
    subscriber = undefined;
    handlers.clear();
  }

  return { subscribe, publish, close };
}

export type PubSub = ReturnType<typeof createPubSub>;
