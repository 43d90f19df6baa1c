# One image for the API (default command), the worker and the migration step:
#   api      node --import tsx apps/api/src/server.ts
#   worker   node --import tsx apps/worker/src/main.ts
#   migrate  pnpm db:migrate
# TypeScript runs directly through tsx (a root devDependency), so the runtime keeps the full
# node_modules, dev dependencies included. Build and run at the same path (/app): pnpm's bin
# shims hold absolute paths.

FROM node:20-bookworm-slim AS base
# Same version as package.json's "packageManager" (a test checks they agree); a different one
# would make pnpm fetch that version at run time.
ARG PNPM_VERSION=10.34.9
RUN npm install -g "pnpm@${PNPM_VERSION}" && npm cache clean --force
WORKDIR /app

FROM base AS build
# Workspace manifests first, so the dependency layer is rebuilt only when they change. The
# postinstall (scripts/prisma-generate.mjs) generates the Prisma client, so the schema and
# prisma.config.ts come along.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml prisma.config.ts ./
COPY scripts/ scripts/
COPY prisma/ prisma/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/agent/package.json packages/agent/
COPY packages/core/package.json packages/core/
COPY packages/kube-fake/package.json packages/kube-fake/
COPY packages/odoo/package.json packages/odoo/
COPY packages/protocol/package.json packages/protocol/
COPY packages/queue/package.json packages/queue/
COPY tools/prisma-migrate/package.json tools/prisma-migrate/
RUN pnpm install --frozen-lockfile
COPY . .

FROM base AS runtime
ENV NODE_ENV=production
COPY --from=build /app /app
# The agent service keeps its credential and local "cluster" here (a named volume inherits this owner).
RUN mkdir -p /var/lib/vwksp-agent && chown node:node /var/lib/vwksp-agent
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "apps/api/src/server.ts"]
