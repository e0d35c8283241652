#!/usr/bin/env bash
# PostgreSQL for adam_nb's tests: Debian's `postgresql` package (installed with apt-get if missing), and a throw-away
# server listening only on 127.0.0.1, on a free port, in a temporary data folder, with one database and a random password.
#
#   bash tests/postgres_setup.sh --install-only   # just make sure the server binaries are installed; the notebook
#                                                 # (adam_nb.distributed.postgres_server) then starts and stops its own server
#   eval "$(bash tests/postgres_setup.sh)"        # also start a server and export ADAM_NB_PG_URL and ADAM_NB_PG_DATA;
#                                                 # stop it later with: bash tests/postgres_teardown.sh
# Postgres refuses to run as root, so as root the server runs as the `postgres` user the package creates.
# Everything for the caller's shell goes to stdout; progress goes to stderr.
set -euo pipefail
log() { echo "postgres_setup: $*" >&2; }

bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

if ! bin=$(bindir); then
  log "installing Debian's postgresql with apt-get"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(bindir) || { log "postgresql installed but initdb not found"; exit 1; }
fi
log "PostgreSQL binaries in $bin ($("$bin/postgres" --version))"
[ "${1:-}" = "--install-only" ] && exit 0

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tmp=$(mktemp -d /tmp/adam_nb_pg.XXXXXX)
data="$tmp/data"
password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s' "$password" > "$tmp/pw"
run=()
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$tmp"; run=(runuser -u postgres --); fi
"${run[@]}" "$bin/initdb" -D "$data" -U adam_nb --pwfile="$tmp/pw" --auth=scram-sha-256 -E UTF8 --no-sync \
  > "$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
rm -f "$tmp/pw"
"${run[@]}" "$bin/pg_ctl" -D "$data" -l "$tmp/log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off" >&2
PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U adam_nb -d postgres -q -c "CREATE DATABASE adam_nb" >&2
log "server on 127.0.0.1:$port, data in $data"
echo "export ADAM_NB_PG_URL='postgresql://adam_nb:$password@127.0.0.1:$port/adam_nb'"
echo "export ADAM_NB_PG_DATA='$data'"
echo "export ADAM_NB_PG_BIN='$bin'"
