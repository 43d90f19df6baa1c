/**
 * The Git engine as core sees it: `createGitOpsEngine(…)` of @vwksp/gitops satisfies this
 * structurally. Core does not import that package (it depends on core for its tests); the apps,
 * which are the composition roots, hand the engine in.
 */

export type GitOpsAuth =
  | { type: "https-token"; token: string; username?: string | undefined }
  | { type: "basic"; username: string; password: string }
  | { type: "ssh-key"; privateKey: string; knownHosts?: string | undefined };

export interface GitOpsBindingInput {
  url: string;
  branch: string;
  path: string;
  createBranch: boolean;
  auth: GitOpsAuth;
  author: { name: string; email: string };
}

export type GitOpsValidation =
  | { ok: true; head: string | null; serverVerified: boolean }
  | { ok: false; reason: string; message: string };

export interface DesiredClusterState {
  slug: string;
  clusterId: string;
  controlPlaneEndpoint: string;
  applications: Record<string, unknown>[];
}

export type GitOpsChangeInput =
  | { type: "replace-cluster"; state: DesiredClusterState }
  | { type: "upsert-application"; clusterSlug: string; application: Record<string, unknown> }
  | { type: "delete-application"; clusterSlug: string; namespace: string; name: string };

export type GitOpsApplyResult =
  | { outcome: "committed"; commit: string; attempts: number }
  | { outcome: "noop"; head: string | null }
  | { outcome: "already-applied"; commit: string };

export interface GitOpsEnginePort {
  validateBinding(input: GitOpsBindingInput): Promise<GitOpsValidation>;
  applyChange(request: {
    // The engine's own input type is wider (zod input); this is what core gives it.
    // biome-ignore lint/suspicious/noExplicitAny: structural hand-over to @vwksp/gitops
    binding: any;
    // biome-ignore lint/suspicious/noExplicitAny: structural hand-over to @vwksp/gitops
    change: any;
    jobId: string;
    idempotencyKey: string;
  }): Promise<GitOpsApplyResult>;
  /** `kubectl create secret generic …` for the registration token of a gitops cluster. */
  registrationSecretCommand(clusterSlug: string, token: string): string;
}

/** A GitOpsError of @vwksp/gitops, recognized by shape (see the port's comment). */
export interface GitOpsFailure {
  name: "GitOpsError";
  reason: string;
  retryable: boolean;
  message: string;
}

export const isGitOpsFailure = (error: unknown): error is GitOpsFailure =>
  error instanceof Error &&
  error.name === "GitOpsError" &&
  typeof (error as Partial<GitOpsFailure>).reason === "string" &&
  typeof (error as Partial<GitOpsFailure>).retryable === "boolean";

/** The sealing context of a cluster's Git credential: a sealed value copied to another row does not open. */
export const gitCredentialContext = (clusterId: string) => `gitops:${clusterId}`;

/** `<path>/<slug>`, or `<slug>` at the repository's root. */
export const clusterDirectory = (path: string, slug: string) => (path ? `${path}/${slug}` : slug);

/** The folder as the engine normalizes it: no leading "./" or "/", no trailing "/". */
export const normalizeFolder = (path: string) =>
  path
    .trim()
    .replace(/^(\.\/)+/, "")
    .replace(/^\/+|\/+$/g, "");
