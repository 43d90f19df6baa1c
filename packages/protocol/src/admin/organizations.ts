import { z } from "zod";
import { DnsLabel, Rfc3339 } from "../common.ts";

export const CreateOrganizationBody = z
  .strictObject({
    slug: DnsLabel.describe("unique, e.g. acme"),
    name: z.string().trim().min(1).max(200),
  })
  .meta({ id: "CreateOrganizationBody" });
export type CreateOrganizationBody = z.infer<typeof CreateOrganizationBody>;

export const Organization = z
  .object({ id: z.uuid(), slug: z.string(), name: z.string(), createdAt: Rfc3339 })
  .meta({ id: "Organization" });
export type Organization = z.infer<typeof Organization>;
