#!/usr/bin/env bash
# The run command: set-up (scripts/setup.sh), then start the service (API + export worker) and run
# the demo against it (scripts/demo.ts). With --keep the service stays up afterwards (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set -a; . ./.env; set +a
export PORT="${PORT:-3000}"
export API_URL="http://127.0.0.1:${PORT}"

if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
  echo "error: port ${PORT} is in use; stop what runs there or set PORT=<free port>." >&2
  exit 1
fi
printf '\033[1m==> %s\033[0m\n' "Starting the service on port ${PORT} (log: service.log)"
node dist/src/main.js > service.log 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fsS "${API_URL}/health" >/dev/null 2>&1 && break
  kill -0 "$service" 2>/dev/null || { cat service.log; echo "the service did not start" >&2; exit 1; }
  sleep 0.5
done

node --no-warnings dist/scripts/demo.js

if [ "${1:-}" = "--keep" ]; then
  echo "The service is running at ${API_URL} (Swagger UI: ${API_URL}/docs). Ctrl-C stops it."
  wait "$service"
fi
