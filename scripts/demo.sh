#!/usr/bin/env bash
# The run command: set-up (scripts/setup.sh), then start the service (API + export worker) and run
# the demo against it (scripts/demo.ts). With --keep the service and the demo's S3 server (with the
# exported object) stay up afterwards; Ctrl-C stops both.
# PORT (default 3000) and DEMO_S3_PORT (default 4569) choose the ports; the environment wins over .env.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh
load_env
export PORT="${PORT:-3000}"
export DEMO_S3_PORT="${DEMO_S3_PORT:-4569}"
export API_URL="http://127.0.0.1:${PORT}"
# The demo's S3 server must be an allowed export endpoint.
export S3_ALLOWED_ENDPOINTS="${S3_ALLOWED_ENDPOINTS:+${S3_ALLOWED_ENDPOINTS},}http://127.0.0.1:${DEMO_S3_PORT}"

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if in_use "$PORT"; then
  echo "error: port ${PORT} is in use; stop what runs there or run: PORT=<free port> npm run demo" >&2
  exit 1
fi
if in_use "$DEMO_S3_PORT"; then
  echo "error: port ${DEMO_S3_PORT} (the demo's S3 server) is in use; run: DEMO_S3_PORT=<free port> npm run demo" >&2
  exit 1
fi

bash scripts/setup.sh
load_env # again: a first run has only now written .env (secrets, maybe a database of its own)

say "Starting the service on port ${PORT} (log: service.log)"
node dist/src/main.js > service.log 2>&1 &
service=$!
# On the way out (the demo's end, an error, Ctrl-C or SIGTERM), stop the service and the demo (with
# its S3 server) gracefully and wait for them, so that nothing is left behind.
trap 'pkill -TERM -P $$ 2>/dev/null; wait 2>/dev/null; true' EXIT
for _ in $(seq 1 60); do
  curl -fsS "${API_URL}/health" >/dev/null 2>&1 && break
  kill -0 "$service" 2>/dev/null || { cat service.log; echo "the service did not start" >&2; exit 1; }
  sleep 0.5
done

# With --keep the demo keeps its S3 server up, and returns only on Ctrl-C (then the trap stops the service).
keep=0
[ "${1:-}" = "--keep" ] && keep=1
DEMO_KEEP="$keep" node dist/scripts/demo.js
