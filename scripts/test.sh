#!/usr/bin/env bash
# The test command: set-up (scripts/setup.sh), type-check, then every unit and e2e test on the
# real PostgreSQL, Redis and an in-process S3 server. Tests use their own database (connect_test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set -a; . ./.env; set +a
printf '\033[1m==> %s\033[0m\n' "Type-checking"
npx tsc --noEmit -p tsconfig.json
printf '\033[1m==> %s\033[0m\n' "Running tests"
npx jest --config jest.config.js "$@"
