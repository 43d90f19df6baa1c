import type { ClusterClient } from "../client/cluster-client.ts";
import { CLUSTER_ACCESS, NAMESPACED_ACCESS } from "../resources.ts";

/** One permission push mode needs: a verb on a resource, in a namespace or cluster-wide. */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  /** Absent: at the cluster scope. */
  namespace?: string;
}

/** Every permission the executor and the watches need for these namespaces. */
export function requiredAccess(namespaces: readonly string[]): AccessCheck[] {
  const inNamespaces = namespaces.flatMap((namespace) =>
    NAMESPACED_ACCESS.flatMap(({ resource, verbs }) =>
      verbs.map((verb) => ({ verb, group: resource.group, resource: resource.plural, namespace })),
    ),
  );
  const clusterWide = CLUSTER_ACCESS.flatMap(({ resource, verbs }) =>
    verbs.map((verb) => ({ verb, group: resource.group, resource: resource.plural })),
  );
  return [...inNamespaces, ...clusterWide];
}

/** `create applicationinstances.apps.vworkspace.io in namespace "org-a"` */
export const describeAccess = (check: AccessCheck) =>
  `${check.verb} ${check.resource}.${check.group} ${
    check.namespace ? `in namespace "${check.namespace}"` : "at the cluster scope"
  }`;

/** Asks the API server, with SelfSubjectAccessReviews (allowed to every user), which are denied. */
export async function deniedAccess(client: ClusterClient, checks: AccessCheck[]): Promise<AccessCheck[]> {
  const answers = await Promise.all(
    checks.map((check) =>
      client.call(() =>
        client.access.createSelfSubjectAccessReview({
          body: {
            spec: {
              resourceAttributes: {
                verb: check.verb,
                group: check.group,
                resource: check.resource,
                ...(check.namespace ? { namespace: check.namespace } : {}),
              },
            },
          },
        }),
      ),
    ),
  );
  return checks.filter((_, index) => answers[index]?.status?.allowed !== true);
}
