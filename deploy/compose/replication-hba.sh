#!/bin/sh
# compose.yaml's primary: let the replica of the `cluster` profile stream from it, and give the
# role its statement timeout (through a transaction-mode pooler no connection sends one).
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "ALTER ROLE \"$POSTGRES_USER\" SET statement_timeout = '15s'"
