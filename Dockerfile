# One image for the API (default command), the worker, the migration step and the reference agent:
#   api      node --import tsx apps/api/src/server.ts
#   worker   node --import tsx apps/worker/src/main.ts
#   migrate  node --import tsx tools/prisma-migrate/src/cli.ts migrate
#   agent    node packages/agent/bin/vwksp-agent.mjs …
#   keys     node --import tsx apps/api/scripts/admin-key.ts list|create|revoke|rotate …
# TypeScript runs directly through tsx, a production dependency of the root package. The runtime
# stage holds production dependencies only (a `pnpm install --prod` of its own) plus the Prisma
# client generated in the build stage; no dev dependency, no pnpm, no tests. It runs as `node`.
#
# Node 24 is the LTS line in support the longest (to April 2028; Node 20 left support in April
# 2026). The test suite runs on Node ≥ 20.19 (package.json "engines"); the production install
# is also started on Node 24 when the image changes (see docs/architecture.md, "The image").
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS base
# Same version as package.json's "packageManager" (a test checks they agree); a different one
# would make pnpm fetch that version at run time.
ARG PNPM_VERSION=10.34.9
RUN npm install -g "pnpm@${PNPM_VERSION}" && npm cache clean --force
WORKDIR /app
# The workspace manifests, the lockfile and the pnpmfile it was made with: both installs below
# start from these, so they are redone only when dependencies change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .pnpmfile.cjs ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY packages/agent/package.json packages/agent/
COPY packages/core/package.json packages/core/
COPY packages/gitops/package.json packages/gitops/
COPY packages/kube-fake/package.json packages/kube-fake/
COPY packages/odoo/package.json packages/odoo/
COPY packages/odoo-fake/package.json packages/odoo-fake/
COPY packages/protocol/package.json packages/protocol/
COPY packages/push/package.json packages/push/
COPY packages/queue/package.json packages/queue/
COPY tools/prisma-migrate/package.json tools/prisma-migrate/

# Every dependency, for `prisma generate`: the postinstall (scripts/prisma-generate.mjs) writes
# the client into packages/core/src/generated from the schema.
FROM base AS build
COPY prisma.config.ts ./
COPY scripts/ scripts/
COPY prisma/ prisma/
RUN pnpm install --frozen-lockfile

# Production dependencies only. Scripts are skipped: the root postinstall needs the Prisma CLI,
# a dev dependency, and its output comes from the build stage instead.
FROM base AS prod-deps
RUN pnpm install --prod --frozen-lockfile --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# GitOps mode (docs/gitops-mode.md): the worker drives the git CLI (@vwksp/gitops), over HTTPS
# (ca-certificates) and over SSH for ssh-key credentials (openssh-client). Why the CLI and not
# a JavaScript Git: packages/gitops/README.md.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests and node_modules (root and per package) of the production install.
COPY --from=prod-deps /app/ ./
COPY tsconfig.base.json tsconfig.json ./
COPY apps/ apps/
COPY packages/ packages/
COPY tools/ tools/
COPY prisma/ prisma/
COPY --from=build /app/packages/core/src/generated/ packages/core/src/generated/
# The agent service keeps its credential and local "cluster" here (a named volume inherits this owner).
RUN mkdir -p /var/lib/vwksp-agent && chown node:node /var/lib/vwksp-agent
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "apps/api/src/server.ts"]
