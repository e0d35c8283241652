#!/usr/bin/env bash
# Stop the server that tests/postgres_setup.sh started (reads ADAM_NB_PG_DATA and ADAM_NB_PG_BIN) and delete its files,
# with the notebooks' own code (adam_nb.testing.stop_postgres) run by $PYTHON (default python3).
set -uo pipefail
: "${ADAM_NB_PG_DATA:?ADAM_NB_PG_DATA is not set: nothing to stop}"
"${PYTHON:-python3}" -m adam_nb.testing pg-stop || exit 1
echo "postgres_teardown: stopped and removed $(dirname "$ADAM_NB_PG_DATA")" >&2
