#!/usr/bin/env bash
# Stop the server that tests/postgres_setup.sh started (reads ADAM_NB_PG_DATA and ADAM_NB_PG_BIN) and delete its files.
set -uo pipefail
data=${ADAM_NB_PG_DATA:?ADAM_NB_PG_DATA is not set: nothing to stop}
bin=${ADAM_NB_PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")}
run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
"${run[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
rm -rf "$(dirname "$data")"
echo "postgres_teardown: stopped and removed $(dirname "$data")" >&2
