#!/bin/sh
# compose.yaml's primary: let the replica of the `cluster` profile stream from it.
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
