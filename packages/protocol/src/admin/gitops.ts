import { z } from "zod";
import { Rfc3339 } from "../common.ts";

// GitOps mode (docs/gitops-mode.md): the repository a gitops cluster's Flux follows and the
// credential the worker pushes with. Bodies are strict; the credential is write-only.

const Secret = z.string().min(1).max(16_384);

export const GitOpsAuthBody = z.discriminatedUnion("type", [
  z
    .strictObject({
      type: z.literal("https-token"),
      token: Secret.describe("a personal or deploy token with write access (sent as the HTTP password)"),
      username: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe("user name sent with the token (Bitbucket: x-token-auth)"),
    })
    .meta({ id: "GitOpsHttpsTokenAuth" }),
  z
    .strictObject({
      type: z.literal("basic"),
      username: z.string().min(1).max(256),
      password: Secret,
    })
    .meta({ id: "GitOpsBasicAuth" }),
  z
    .strictObject({
      type: z.literal("ssh-key"),
      privateKey: Secret.describe("an unencrypted private key (OpenSSH or PEM)"),
      knownHosts: z
        .string()
        .min(1)
        .max(16_384)
        .optional()
        .describe("known_hosts line(s): the host key is then checked strictly"),
    })
    .meta({ id: "GitOpsSshKeyAuth" }),
]);
export type GitOpsAuthBody = z.infer<typeof GitOpsAuthBody>;

export const GitOpsAuthor = z
  .strictObject({ name: z.string().min(1).max(200), email: z.email().max(254) })
  .meta({ id: "GitOpsAuthor" });

export const PutGitOpsBindingBody = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .max(2048)
      .describe(
        "the repository: https://… for https-token and basic, ssh://… or user@host:path for ssh-key; no credentials in it",
      ),
    branch: z.string().min(1).max(200).describe("the branch Flux follows"),
    path: z
      .string()
      .max(500)
      .default("")
      .describe('folder holding one directory per cluster ("" for the root)'),
    createBranch: z
      .boolean()
      .default(false)
      .describe("create the branch on the first push when it does not exist"),
    auth: GitOpsAuthBody,
    author: GitOpsAuthor,
  })
  .meta({ id: "PutGitOpsBindingBody" });
export type PutGitOpsBindingBody = z.infer<typeof PutGitOpsBindingBody>;

export const GitOpsBindingHealth = z
  .object({
    healthy: z
      .boolean()
      .describe("false after a push failed for a reason retrying cannot fix (credential, permissions)"),
    lastPushAt: Rfc3339.nullable().describe("when a job's commit was last pushed"),
    lastError: z.string().nullable().describe("why the latest push failed; cleared by the next success"),
    lastErrorAt: Rfc3339.nullable(),
    headCommit: z.string().nullable().describe("the branch's head as last seen (validation or push)"),
  })
  .meta({ id: "GitOpsBindingHealth" });

export const GitOpsBinding = z
  .object({
    clusterId: z.string().uuid(),
    url: z.string(),
    branch: z.string(),
    path: z.string(),
    createBranch: z.boolean(),
    authType: z
      .enum(["https-token", "basic", "ssh-key"])
      .describe("the credential's kind; the credential itself is never returned"),
    author: z.object({ name: z.string(), email: z.string() }),
    directory: z
      .string()
      .describe(
        "the cluster's directory in the repository (<path>/<cluster slug>) — the path of Flux's Kustomization",
      ),
    createdAt: Rfc3339,
    updatedAt: Rfc3339,
    health: GitOpsBindingHealth,
  })
  .meta({ id: "GitOpsBinding" });
export type GitOpsBinding = z.infer<typeof GitOpsBinding>;
