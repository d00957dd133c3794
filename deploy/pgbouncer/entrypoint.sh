#!/bin/bash
# Render the databases and the user list from the environment, then run PgBouncer in the
# foreground. PgBouncer authenticates clients and, with the same password, the servers.
set -euo pipefail

config=/tmp/pgbouncer.ini
sed -e "s|^eventapi = .*|eventapi = host=${PRIMARY_HOST} port=5432 dbname=eventapi\neventapi_replica = host=${REPLICA_HOST} port=5432 dbname=eventapi|" \
    -e "s|^auth_file = .*|auth_file = /tmp/userlist.txt|" \
    /etc/pgbouncer/pgbouncer.ini > "$config"
printf '"eventapi" "%s"\n' "$POSTGRES_PASSWORD" > /tmp/userlist.txt
chmod 600 /tmp/userlist.txt
exec pgbouncer "$config"
