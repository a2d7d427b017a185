#!/bin/sh
# img-postgres: on the first start (empty PGDATA) makes the cluster, with
# superuser POSTGRES_USER (password POSTGRES_PASSWORD, required) and
# database POSTGRES_DB, accepting password (scram-sha-256) logins over the
# network; then runs the server in the foreground.
set -eu
bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort | tail -n 1)
: "${PGDATA:?}" "${POSTGRES_USER:=img}" "${POSTGRES_DB:=img}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "img-postgres: set POSTGRES_PASSWORD for the first start" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # single-user mode: no server listens while the database is made
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\"" |
      "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
fi
exec "$bin/postgres" -D "$PGDATA"
