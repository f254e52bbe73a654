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
