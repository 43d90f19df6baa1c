import { z } from "zod";
import { Rfc3339 } from "../common.ts";

/** Admin API keys; the secret appears only in the answer that creates it. */
export const ApiKeyView = z
  .object({
    id: z.string().uuid(),
    organizationId: z.string().uuid(),
    name: z.string(),
    scopes: z.array(z.string()),
    status: z.enum(["active", "expired", "revoked"]),
    createdAt: Rfc3339,
    lastUsedAt: Rfc3339.nullable().describe("to the minute"),
    expiresAt: Rfc3339.nullable(),
    revokedAt: Rfc3339.nullable(),
    replacedById: z.string().uuid().nullable().describe("the key that replaced this one by rotation"),
  })
  .meta({ id: "ApiKeyView" });
export type ApiKeyView = z.infer<typeof ApiKeyView>;

export const ApiKeyList = z.object({ items: z.array(ApiKeyView) }).meta({ id: "ApiKeyList" });

export const CreatedApiKey = ApiKeyView.extend({
  key: z.string().describe("the secret, shown only in this answer; only its SHA-256 is stored"),
}).meta({ id: "CreatedApiKey" });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

const Scopes = z
  .array(z.string().min(1).max(64))
  .min(1)
  .max(32)
  .describe("scope names; `*` or `all` for every scope");

export const CreateApiKeyBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    scopes: Scopes,
    expiresAt: Rfc3339.optional(),
  })
  .meta({ id: "CreateApiKeyBody" });
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const RotateApiKeyBody = z
  .strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(86_400)
      .optional()
      .describe("how long the old key keeps working (default 300; 0 = revoked at once)"),
    expiresAt: Rfc3339.optional().describe("expiry of the new key (default: none)"),
  })
  .meta({ id: "RotateApiKeyBody" });
export type RotateApiKeyBody = z.infer<typeof RotateApiKeyBody>;

export const RotatedApiKey = CreatedApiKey.extend({
  previousKeyEndsAt: Rfc3339.describe("when the rotated-away key stops working"),
}).meta({ id: "RotatedApiKey" });
export type RotatedApiKey = z.infer<typeof RotatedApiKey>;

export const ApiKeyIdParams = z.object({
  id: z
    .string()
    .uuid("API key id must be a UUID")
    .meta({ description: "the API key's id", examples: ["8d4e2a19-6c3b-4f70-9a58-e1b7c0d3f2a6"] }),
});
