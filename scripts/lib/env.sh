# Sourced by the scripts: load_env exports the variables of .env that the environment does not
# already set, so `PORT=3100 npm run demo` wins over .env (as dotenv does for the service itself).
load_env() {
  [ -f .env ] || return 0
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) continue ;; esac
    key=${line%%=*}
    [ -n "${!key+x}" ] || export "$line"
  done < .env
}

# Headings and errors of the scripts: bold and red on a terminal, plain text in a file or a pipe.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '==> %s\n' "$*"; }
fi
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }
else
  die() { printf 'error: %s\n' "$*" >&2; exit 1; }
fi
