#!/bin/sh
# Runs once, when the primary's data directory is first made (docker-entrypoint-initdb.d):
# - lets the `scale` profile's streaming replica connect for replication (same password);
# - gives the app's role its server-side statement timeout, which API processes behind a
#   transaction-mode pooler (DB_PREPARED_STATEMENTS=false) do not send when connecting.
set -eu
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "ALTER ROLE \"$POSTGRES_USER\" SET statement_timeout = '1500ms'"
