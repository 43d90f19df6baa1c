import { randomBytes } from "node:crypto";

const MAX = 63;

/** A DNS label derived from a display name: "Prod EU (Frankfurt)" → "prod-eu-frankfurt". */
export function slugify(displayName: string): string {
  const slug = displayName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, MAX)
    .replace(/-+$/g, "");
  return slug || "cluster";
}

/** `base`, then `base-2` … `base-5`, then random suffixes; kept within 63 characters. */
export function slugCandidate(base: string, attempt: number): string {
  if (attempt <= 1) return base;
  const suffix = attempt <= 5 ? `-${attempt}` : `-${randomBytes(3).toString("hex")}`;
  return `${base.slice(0, MAX - suffix.length).replace(/-+$/g, "")}${suffix}`;
}
