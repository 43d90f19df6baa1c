#!/usr/bin/env bash
# The two commands of the README, for a fresh machine with Node.js ≥ 20.19, PostgreSQL and Redis:
#   bash scripts/run.sh start   install pnpm + dependencies, apply migrations, run API and worker
#   bash scripts/run.sh test    install pnpm + dependencies, prepare test databases, run every test
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10
pnpm_cmd=(pnpm)
if ! command -v pnpm >/dev/null 2>&1 || [[ "$(pnpm --version 2>/dev/null)" != ${PNPM_VERSION}.* ]]; then
  # corepack is not usable everywhere (signature checks fail offline); npm is.
  if npm install -g "pnpm@${PNPM_VERSION}" >/dev/null 2>&1 && command -v pnpm >/dev/null 2>&1; then
    pnpm_cmd=(pnpm)
  else
    pnpm_cmd=(npx -y "pnpm@${PNPM_VERSION}")
  fi
fi

"${pnpm_cmd[@]}" install --frozen-lockfile

case "${1:-}" in
  start) exec "${pnpm_cmd[@]}" start ;;
  test) exec "${pnpm_cmd[@]}" test ;;
  *)
    echo "usage: bash scripts/run.sh start|test" >&2
    exit 2
    ;;
esac
