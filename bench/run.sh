#!/usr/bin/env bash
# `npm run bench -- [options]`: the set-up (scripts/setup.sh: services, .env, npm ci, build, database),
# then the harness (dist/bench/main.js), which starts a service of its own on a database of its own.
# The environment wins over .env (DATABASE_URL and REDIS_URL name the servers the harness uses).
# Options: `npm run bench -- --help`. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh
bash scripts/setup.sh
load_env
# The AWS SDK warns every process that its 2027 releases need Node 22: noise in the bench output.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
exec node --no-warnings dist/bench/main.js "$@"
