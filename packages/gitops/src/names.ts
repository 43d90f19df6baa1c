/** Kubernetes and Git naming rules, checked before a name becomes a path or a ref. */

/** RFC 1123 label: namespaces and cluster slugs. Also keeps a name from becoming `..` in a path. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 subdomain (object names): labels joined by dots, each starting with a letter or digit. */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const isDnsSubdomain = (name: string) => name.length <= 253 && DNS_SUBDOMAIN.test(name);

/**
 * A branch name git accepts (a subset of `git check-ref-format --branch`): no leading dash (it
 * would read as an option), no `..`, `//`, `@{`, no component starting with `.` or ending in `.lock`.
 */
export function isSafeBranchName(branch: string): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) || branch.length > 200) return false;
  if (branch.includes("..") || branch.includes("//") || branch.endsWith("/") || branch.endsWith(".")) {
    return false;
  }
  return branch.split("/").every((part) => !part.startsWith(".") && !part.endsWith(".lock"));
}

/**
 * A folder inside the repository, normalized: no leading `./` or `/`, no trailing `/`, "" for the
 * root. Undefined when it would leave the repository or name `.git`.
 */
export function normalizeRepoPath(path: string): string | undefined {
  const trimmed = path
    .trim()
    .replace(/^(\.\/)+/, "")
    .replace(/^\/+|\/+$/g, "");
  if (trimmed === "" || trimmed === ".") return "";
  const parts = trimmed.split("/");
  const safe = parts.every(
    (part) => /^[A-Za-z0-9._-]+$/.test(part) && part !== "." && part !== ".." && part !== ".git",
  );
  return safe && trimmed.length <= 500 ? parts.join("/") : undefined;
}
