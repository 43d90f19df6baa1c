import type { KubeConfig } from "@kubernetes/client-node";
import type { Fetch } from "../client/http.ts";
import type { Timing } from "../clock.ts";
import type { CredentialStore, Credentials } from "../credentials/credentials.ts";
import { createFileStore } from "../credentials/file-store.ts";
import { createSecretStore, parseSecretRef } from "../credentials/secret-store.ts";
import { errorMessage } from "../errors.ts";
import { createKube, type Kube, loadKubeConfig } from "../kube/kube.ts";
import type { Output } from "../log.ts";
import type { FlagSpecs } from "./flags.ts";

/** Everything the CLI touches of the outside world, so tests run it in-process. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  /** Aborted on SIGTERM/SIGINT: `run` stops gracefully. */
  signal?: AbortSignal;
  fetch?: Fetch;
  timing?: Timing;
  loadKubeConfig?: (path?: string) => KubeConfig;
}

/** A mistake in the command line: exit code 2 and no request sent. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface StoreFlags {
  "credentials-file"?: string | undefined;
  "credentials-secret"?: string | undefined;
  kubeconfig?: string | undefined;
}

/** Where the credential lives: the flags every command shares. */
export const storeFlags = {
  "credentials-file": {
    type: "string",
    env: "VWKSP_CREDENTIALS_FILE",
    placeholder: "PATH",
    description: "the credential as a file (mode 0600)",
  },
  "credentials-secret": {
    type: "string",
    env: "VWKSP_CREDENTIALS_SECRET",
    placeholder: "NAMESPACE/NAME",
    description: "the credential as a Kubernetes Secret (instead of a file)",
  },
  kubeconfig: {
    type: "string",
    env: "VWKSP_KUBECONFIG",
    placeholder: "PATH",
    description: "kubeconfig for the Secret and the kubernetes backend (else $KUBECONFIG, then in-cluster)",
  },
} as const satisfies FlagSpecs;

/** One Kubernetes client per command, made only when something needs the cluster. */
export function lazyKube(io: CliIo, path: string | undefined): () => Kube {
  let kube: Kube | undefined;
  return () => {
    kube ??= createKube((io.loadKubeConfig ?? loadKubeConfig)(path));
    return kube;
  };
}

export function resolveStore(
  flags: StoreFlags,
  kube: () => Kube,
  warn: (message: string) => void,
): CredentialStore {
  const file = flags["credentials-file"];
  const secret = flags["credentials-secret"];
  if (file && secret)
    throw new UsageError("give either --credentials-file or --credentials-secret, not both");
  if (file) return createFileStore(file, warn);
  if (secret) {
    let ref: { namespace: string; name: string };
    try {
      ref = parseSecretRef(secret);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    return createSecretStore(kube(), ref.namespace, ref.name);
  }
  throw new UsageError("--credentials-file PATH or --credentials-secret NAMESPACE/NAME is required");
}

/** The stored credential, or undefined once why it cannot be read is on stderr (the command exits 1). */
export async function loadCredentials(store: CredentialStore, io: CliIo): Promise<Credentials | undefined> {
  try {
    return await store.load();
  } catch (error) {
    println(io.stderr, `vwksp-agent: ${errorMessage(error)}`);
    return undefined;
  }
}

/** `30s`, `1m`, `500ms`, `2h`, or a bare number of seconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match?.[1]) throw new UsageError(`${flag} must be a duration like 30s, 1m or 500ms, got "${value}"`);
  const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1_000;
  const ms = Number(match[1]) * factor;
  if (ms <= 0) throw new UsageError(`${flag} must be positive`);
  return ms;
}

export function parseInteger(value: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** For humans: the URL without any user info or query that could carry a secret. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, "")}`;
}

export const println = (out: Output, line: string) => out.write(`${line}\n`);
