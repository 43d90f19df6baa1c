// Prisma 7 CLI configuration (used by `prisma generate`). Migrations run through
// tools/prisma-migrate because the 7.x CLI needs a native engine this project cannot download.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/vwksp" },
});
