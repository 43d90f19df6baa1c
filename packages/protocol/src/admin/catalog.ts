import { z } from "zod";
import { Rfc3339 } from "../common.ts";

export const CatalogId = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a slug id such as vaultwarden");

/** Where a Helm chart comes from; `oci` URLs start with oci://, `helm` URLs are repositories. */
export const ChartRef = z
  .strictObject({
    sourceType: z.enum(["oci", "helm"]),
    url: z
      .string()
      .min(1)
      .max(500)
      .regex(/^(oci|https?):\/\//, "must be an oci:// or http(s):// URL"),
    name: z.string().min(1).max(200),
    version: z.string().min(1).max(100),
  })
  .meta({ id: "ChartRef" });
export type ChartRef = z.infer<typeof ChartRef>;

const JsonObject = z.record(z.string(), z.unknown());

export const CatalogEntryBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    chart: ChartRef,
    defaultValues: JsonObject.default({}),
  })
  .meta({ id: "CatalogEntryBody" });
export type CatalogEntryBody = z.infer<typeof CatalogEntryBody>;

export const CreateCatalogEntryBody = CatalogEntryBody.extend({ id: CatalogId }).meta({
  id: "CreateCatalogEntryBody",
});
export type CreateCatalogEntryBody = z.infer<typeof CreateCatalogEntryBody>;

export const CatalogSource = z
  .enum(["shared", "organization"])
  .describe(
    "shared: the base catalog every organization sees; organization: the caller's organization's own",
  );

export const CatalogEntry = z
  .object({
    id: z.string(),
    name: z.string(),
    chart: ChartRef,
    defaultValues: JsonObject,
    source: CatalogSource,
    overridesShared: z
      .boolean()
      .describe("an organization's own entry that stands in for the shared entry with the same id"),
    createdAt: Rfc3339,
    updatedAt: Rfc3339,
  })
  .meta({ id: "CatalogEntry" });
export type CatalogEntry = z.infer<typeof CatalogEntry>;

export const CatalogIdParams = z.object({
  id: CatalogId.meta({ description: "the catalog entry's id", examples: ["vaultwarden"] }),
});
