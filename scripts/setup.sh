#!/usr/bin/env bash
# Idempotent set-up shared by scripts/demo.sh and scripts/test.sh, for a Debian machine with
# Node 24 (or 20.19+): checks Node, starts PostgreSQL and Redis when installed but stopped (or says what to
# install), writes .env on first run, installs npm dependencies, builds, creates the database and
# applies migrations.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/env.sh


# --- Node.js ---------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js is not installed. Install Node.js 24 (or 20.19+) (https://nodejs.org or 'apt-get install nodejs' from NodeSource)."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js >= 20.19 is required (found $(node -v))."

# --- PostgreSQL --------------------------------------------------------------------------------
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_up; then
  if ls /etc/postgresql/*/main >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
    say "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start \
      || die "could not start PostgreSQL; try: sudo pg_ctlcluster $(ls /etc/postgresql | sort -V | tail -1) main start"
    for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  else
    die "PostgreSQL is not installed. Install it with: sudo apt-get install -y postgresql"
  fi
fi

# --- Redis -------------------------------------------------------------------------------------
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    say "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  else
    die "Redis is not installed. Install it with: sudo apt-get install -y redis-server"
  fi
fi

# --- .env (first run) --------------------------------------------------------------------------
fresh_env=0
if [ ! -f .env ]; then
  fresh_env=1
  say "Writing .env from .env.example, with a fresh SECRETS_KEY and ADMIN_TOKEN"
  secrets_key=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
  admin_token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
  (umask 077 && sed -e "s/^SECRETS_KEY=.*/SECRETS_KEY=${secrets_key}/" -e "s/^ADMIN_TOKEN=.*/ADMIN_TOKEN=${admin_token}/" .env.example > .env)
fi
load_env

# --- npm dependencies and build ----------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "Installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "Building"
npm run --silent build

# The database of .env.example already serves another deployment on this machine (another
# checkout, with its own SECRETS_KEY): give this new checkout a database of its own.
use_own_database() {
  own="connect_$(printf '%s' "$SECRETS_KEY" | sha256sum | cut -c1-8)" # one database per key: never another's
  say "Database ${DATABASE_URL##*/} belongs to another deployment on this machine; this checkout uses database and Redis prefix ${own} (see .env)"
  sed -i "s#^DATABASE_URL=\(.*\)/[^/]*\$#DATABASE_URL=\1/${own}#" .env
  export DATABASE_URL="${DATABASE_URL%/*}/${own}"
  # Its own Redis key prefix too, so the two deployments share neither export queue nor rate limits.
  sed -i "s#^QUEUE_PREFIX=.*#QUEUE_PREFIX=${own}#" .env
  export QUEUE_PREFIX="${own}"
  node dist/src/cli/ensure-database.js || die "cannot use DATABASE_URL=${DATABASE_URL}"
}

# --- database ----------------------------------------------------------------------------------
# Its own messages are shown unless this script handles the case itself (a database taken by another
# deployment, for a new checkout).
set +e
ensure_output=$(node dist/src/cli/ensure-database.js 2>&1)
status=$?
set -e
{ [ "$status" = 4 ] && [ "$fresh_env" = 1 ]; } || [ -z "$ensure_output" ] || printf '%s\n' "$ensure_output"
if [ "$status" = 3 ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && grep -q '^DATABASE_URL=postgres://postgres@' .env; then
  # A fresh Debian PostgreSQL asks for a password over TCP: as root, give the postgres role a
  # random one and keep it in .env (readable by this user only).
  say "Setting a random password for the postgres role (TCP logins on Debian need one); it is kept in .env"
  password=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD '${password}'\"" >/dev/null
  sed -i "s#^DATABASE_URL=postgres://postgres@#DATABASE_URL=postgres://postgres:${password}@#" .env
  export DATABASE_URL="${DATABASE_URL/postgres:\/\/postgres@/postgres://postgres:${password}@}"
  node dist/src/cli/ensure-database.js
elif [ "$status" = 4 ] && [ "$fresh_env" = 1 ]; then
  use_own_database
elif [ "$status" = 4 ]; then
  die "DATABASE_URL=${DATABASE_URL} holds secrets of another SECRETS_KEY than the one in .env; use that deployment's SECRETS_KEY or another database."
elif [ "$status" != 0 ]; then
  die "cannot use PostgreSQL with DATABASE_URL=${DATABASE_URL}; set DATABASE_URL in .env to a role that can create databases."
fi
say "Applying migrations"
npm run --silent migration:run >/dev/null
# Claim the database for this SECRETS_KEY now, not when the service first starts, so a second
# checkout set up before this one ever ran still sees that the database is taken.
set +e
ensure_output=$(node dist/src/cli/ensure-database.js --claim 2>&1)
status=$?
set -e
{ [ "$status" = 4 ] && [ "$fresh_env" = 1 ]; } || [ -z "$ensure_output" ] || printf '%s\n' "$ensure_output"
if [ "$status" = 4 ] && [ "$fresh_env" = 1 ]; then
  use_own_database
  npm run --silent migration:run >/dev/null
  node dist/src/cli/ensure-database.js --claim || die "cannot claim DATABASE_URL=${DATABASE_URL}"
elif [ "$status" = 4 ]; then
  die "DATABASE_URL=${DATABASE_URL} holds secrets of another SECRETS_KEY than the one in .env; use that deployment's SECRETS_KEY or another database."
elif [ "$status" != 0 ]; then
  die "cannot claim the database at DATABASE_URL=${DATABASE_URL}"
fi
