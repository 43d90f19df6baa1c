import type { Cluster } from "../db.ts";

/** Shell-style glob over a whole name: `*` any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${source}$`).test(value);
}

export const namespaceAllowed = (cluster: Pick<Cluster, "allowedNamespaces">, namespace: string) =>
  cluster.allowedNamespaces.some((pattern) => globMatch(pattern, namespace));

export const catalogEntryAllowed = (cluster: Pick<Cluster, "allowedCatalogEntries">, catalogId: string) =>
  cluster.allowedCatalogEntries.some((pattern) => pattern === "*" || pattern === catalogId);

export const operationTemplateAllowed = (
  cluster: Pick<Cluster, "allowedOperationTemplates">,
  template: string,
) => cluster.allowedOperationTemplates.includes(template);
