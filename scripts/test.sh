#!/usr/bin/env bash
# The test command: set-up (scripts/setup.sh), type-check, then every unit and e2e test on the
# real PostgreSQL, Redis and an in-process S3 server. Tests use a database of their own
# (connect_test_<hash of the checkout path>), made afresh and dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh
bash scripts/setup.sh
load_env
say "Type-checking"
npx tsc --noEmit -p tsconfig.json
say "Running tests"
# The AWS SDK warns every process that its 2027 releases need Node 22; it is noise in test output.
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx jest --config jest.config.js "$@"
