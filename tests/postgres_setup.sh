#!/usr/bin/env bash
# PostgreSQL for adam_nb's tests: Debian's `postgresql` package (installed with apt-get if missing), and a throw-away
# server listening only on 127.0.0.1, on a free port, in a temporary data folder, with one database and a random password.
#
#   bash tests/postgres_setup.sh --install-only   # just make sure the server binaries are installed; the notebooks
#                                                 # (adam_nb.testing.postgres_server) then start and stop their own servers
#   eval "$(bash tests/postgres_setup.sh)"        # also start a server and export ADAM_NB_PG_URL, ADAM_NB_PG_DATA and
#                                                 # ADAM_NB_PG_BIN; stop it later with: bash tests/postgres_teardown.sh
# The server is started by the same code as the notebooks' (`python -m adam_nb.testing pg-start`, i.e.
# adam_nb.testing.start_postgres), with $PYTHON (default python3), which must import adam_nb and psycopg: the dev install.
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

exec "${PYTHON:-python3}" -m adam_nb.testing pg-start
