#!/bin/bash
# The replica's entrypoint (compose.yml): the first start copies the primary with
# pg_basebackup -R (which writes standby.signal and primary_conninfo) into an empty data
# directory and creates its replication slot; every start then runs PostgreSQL as a hot
# standby streaming from the primary.
set -euo pipefail

PGDATA=${PGDATA:-/var/lib/postgresql/18/docker}
export PGPASSWORD="$REPLICATION_PASSWORD"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  until gosu postgres pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres; do sleep 1; done
  gosu postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" \
    -R -X stream -c fast -C -S "$REPLICATION_SLOT"
fi

# hot_standby_feedback: long reads (reports) are not cancelled by replay of the primary's
# cleanup; the primary keeps the rows they need a little longer instead.
exec gosu postgres postgres -D "$PGDATA" -c hot_standby=on -c hot_standby_feedback=on \
  -c max_connections=300
