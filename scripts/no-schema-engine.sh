#!/bin/sh
# Stand-in for Prisma's native schema engine (see scripts/prisma-generate.mjs): refuses everything.
echo "native Prisma schema engine not available; use pnpm db:migrate" >&2
exit 1
