import { z } from "zod";
import { DNS_LABEL, isDnsSubdomain } from "./names.ts";
import {
  applicationFilePath,
  type DirectoryFiles,
  renderClusterDirectory,
  withApplicationFile,
} from "./render/cluster-directory.ts";
import { ApplicationInstance, ClusterDesiredState } from "./render/resources.ts";
import { toStableYaml } from "./render/stable-yaml.ts";

/**
 * What one job changes in a cluster's directory. Each is a statement of the result ("this file
 * has this content", "this file is gone", "the directory is exactly this"), never a diff, so
 * applying it again — after a crash, or onto a head someone else moved — gives the same files.
 */
export const GitOpsChange = z.discriminatedUnion("type", [
  /** The whole directory from the desired state; files not in it are removed. The initial write. */
  z.object({ type: z.literal("replace-cluster"), state: ClusterDesiredState }),
  z.object({
    type: z.literal("upsert-application"),
    clusterSlug: z.string().regex(DNS_LABEL),
    application: ApplicationInstance,
  }),
  z.object({
    type: z.literal("delete-application"),
    clusterSlug: z.string().regex(DNS_LABEL),
    namespace: z.string().regex(DNS_LABEL),
    name: z.string().refine(isDnsSubdomain),
  }),
]);
export type GitOpsChange = z.infer<typeof GitOpsChange>;

export const clusterSlugOf = (change: GitOpsChange) =>
  change.type === "replace-cluster" ? change.state.slug : change.clusterSlug;

/** A one-line description for the commit subject. */
export function describeChange(change: GitOpsChange): string {
  switch (change.type) {
    case "replace-cluster":
      return `write cluster ${change.state.slug} (${change.state.applications.length} applications)`;
    case "upsert-application":
      return `apply ${change.application.metadata.namespace}/${change.application.metadata.name} on ${change.clusterSlug}`;
    case "delete-application":
      return `delete ${change.namespace}/${change.name} on ${change.clusterSlug}`;
  }
}

/** Pure: the cluster directory's files after the change, from its files before. */
export function planClusterDirectory(current: DirectoryFiles, change: GitOpsChange): DirectoryFiles {
  switch (change.type) {
    case "replace-cluster":
      return renderClusterDirectory(change.state);
    case "upsert-application": {
      const { namespace, name } = change.application.metadata;
      return withApplicationFile(
        current,
        applicationFilePath(namespace, name),
        toStableYaml(change.application),
      );
    }
    case "delete-application":
      return withApplicationFile(current, applicationFilePath(change.namespace, change.name), undefined);
  }
}
