import type { Cluster } from "../db.ts";

const compiled = new Map<string, RegExp>();

/** Shell-style glob over a whole name: `*` any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".");
    regex = new RegExp(`^${source}$`);
    // Patterns come from the clusters' allow-lists: few, but bounded all the same.
    if (compiled.size >= 10_000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex.test(value);
}

export const namespaceAllowed = (cluster: Pick<Cluster, "allowedNamespaces">, namespace: string) =>
  cluster.allowedNamespaces.some((pattern) => globMatch(pattern, namespace));

/** Why `namespace` is refused; an empty allow-list (cleared in Odoo, say) is named as such. */
export function namespaceRefusal(cluster: Pick<Cluster, "allowedNamespaces">, namespace: string): string {
  if (cluster.allowedNamespaces.length === 0) {
    return `namespace "${namespace}" is not allowed: the cluster allows no namespace (its allowedNamespaces is empty)`;
  }
  return `namespace "${namespace}" matches none of the cluster's allowedNamespaces (${cluster.allowedNamespaces.join(", ")})`;
}

export const catalogEntryAllowed = (cluster: Pick<Cluster, "allowedCatalogEntries">, catalogId: string) =>
  cluster.allowedCatalogEntries.some((pattern) => pattern === "*" || pattern === catalogId);

export const operationTemplateAllowed = (
  cluster: Pick<Cluster, "allowedOperationTemplates">,
  template: string,
) => cluster.allowedOperationTemplates.includes(template);
