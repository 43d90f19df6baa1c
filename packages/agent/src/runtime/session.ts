import { type AgentClient, createAgentClient } from "../client/agent-client.ts";
import type { Fetch } from "../client/http.ts";
import type { Timing } from "../clock.ts";
import type { CredentialStore, Credentials } from "../credentials/credentials.ts";
import { AgentApiError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { classifyFailure, retryDelay } from "../retry.ts";

export type FatalKind = "unauthorized" | "forbidden";

/** Thrown out of every call once the agent must stop (401 after the rotation try, or 403). */
export class AgentStopped extends Error {
  override readonly name = "AgentStopped";
  constructor(
    readonly kind: FatalKind,
    readonly error: AgentApiError,
  ) {
    super(`${kind}: ${error.serverMessage}`);
  }
}

export interface CallOptions {
  label: string;
  /** Aborting ends retries (and the request in flight, when the call passes it on). */
  signal?: AbortSignal | undefined;
  /** Tries for transient failures; auth recovery does not count. Default: until success or abort. */
  attempts?: number;
}

export interface SessionOptions {
  store: CredentialStore;
  credentials: Credentials;
  timing: Timing;
  log: Logger;
  fetch?: Fetch | undefined;
  onFatal(kind: FatalKind, error: AgentApiError): void;
  /** The session rotated its credential (after a 401). */
  onRotated?(): void;
  /** Every answer the control plane gave as expected (`ok`), or a transient failure reaching it. */
  onContact?(ok: boolean, label: string, message?: string): void;
}

/**
 * The agent's credential and every call made with it. A 401 first looks for a newer credential
 * in the store (the `rotate` command or an operator may have replaced it), then tries one
 * rotation; if that fails too the agent stops with Authenticated=False. A 403 stops at once.
 * Transient failures retry with full-jitter backoff, honouring Retry-After.
 */
export function createSession(options: SessionOptions) {
  const { store, timing, log } = options;
  let current = options.credentials;
  let rotationTried = false;
  let recovering: Promise<boolean> | undefined;
  let fatal: AgentStopped | undefined;

  const client: AgentClient = createAgentClient({
    baseUrl: current.baseUrl,
    clusterId: current.clusterId,
    token: () => current.token,
    now: () => timing.clock.now(),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  async function adopt(next: Credentials, persist: boolean) {
    current = next;
    if (!persist) return;
    try {
      await store.save(current);
    } catch (error) {
      // The old credential keeps working for the grace period; say so loudly meanwhile.
      log.error(`the rotated credential could not be persisted to ${store.location}: ${errorMessage(error)}`);
    }
  }

  async function recover(): Promise<boolean> {
    recovering ??= (async () => {
      try {
        const stored = await store.load();
        if (stored.clusterId === current.clusterId && stored.token !== current.token) {
          log.info(`using the newer credential found in ${store.location}`);
          await adopt({ ...current, token: stored.token, expiresAt: stored.expiresAt }, false);
          return true;
        }
      } catch (error) {
        log.warn(`could not re-read ${store.location}: ${errorMessage(error)}`);
      }
      if (rotationTried) return false;
      rotationTried = true;
      try {
        const rotated = await client.rotate();
        await adopt({ ...current, token: rotated.token, expiresAt: rotated.expiresAt }, true);
        log.info(`the credential was refused; rotated it and persisted the new one to ${store.location}`);
        options.onRotated?.();
        return true;
      } catch (error) {
        log.warn(`credential rotation failed: ${errorMessage(error)}`);
        return false;
      }
    })().finally(() => {
      recovering = undefined;
    });
    return recovering;
  }

  function stop(kind: FatalKind, error: AgentApiError): never {
    if (!fatal) {
      fatal = new AgentStopped(kind, error);
      options.onFatal(kind, error);
    }
    throw fatal;
  }

  async function call<T>(work: (client: AgentClient) => Promise<T>, callOptions: CallOptions): Promise<T> {
    const { signal, label, attempts = Number.POSITIVE_INFINITY } = callOptions;
    for (let attempt = 0; ; ) {
      if (fatal) throw fatal;
      const token = current.token;
      try {
        const value = await work(client);
        rotationTried = false;
        options.onContact?.(true, label);
        return value;
      } catch (error) {
        if (signal?.aborted || error instanceof AgentStopped) throw error;
        const kind = classifyFailure(error);
        if (kind === "retry") options.onContact?.(false, label, errorMessage(error));
        if (kind === "unauthorized" && error instanceof AgentApiError) {
          // Another call may already have replaced the token this one was sent with.
          if (current.token !== token || (await recover())) continue;
          stop("unauthorized", error);
        }
        if (kind === "forbidden" && error instanceof AgentApiError) stop("forbidden", error);
        attempt += 1;
        if (kind === "fatal" || attempt >= attempts) throw error;
        const delay = retryDelay(error, attempt - 1, timing.random);
        log.warn(`${label} failed (${errorMessage(error)}); retrying in ${(delay / 1000).toFixed(1)} s`);
        await timing.sleep(delay, signal);
        if (signal?.aborted) throw error;
      }
    }
  }

  return {
    call,
    clusterId: current.clusterId,
    credentials: () => current,
  };
}

export type Session = ReturnType<typeof createSession>;
