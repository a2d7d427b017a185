#!/bin/sh
# pg_cluster.sh — a throw-away PostgreSQL cluster for the tests.
#
#   pg_cluster.sh start DIR   initialises and starts a cluster, prints its URL
#                             and writes it to DIR/url
#   pg_cluster.sh stop DIR    stops the cluster and removes it
#
# DIR is the fixture's own folder (created if needed). The cluster lives in a
# new private folder under ${TMPDIR:-/tmp} (its path is kept in DIR/cluster):
# a short path, because the server listens on a Unix socket in that folder
# only (no TCP port), and one that an unprivileged user can own. initdb
# refuses to run as root, so as root the server runs as the user `nobody`
# (override with PG_CLUSTER_USER). The binaries are those of Debian's
# `postgresql` package (override with PG_BINDIR). The cluster trusts every
# connection that reaches the socket; the folder is private (0700), so only
# its owner and root can.
#
# PG_CLUSTER_LISTEN=ADDRESS also listens on TCP at that address (run the
# script inside a network namespace to listen on its address there) and
# trusts connections from PG_CLUSTER_TRUST (a CIDR, default ADDRESS/32);
# the URL printed and written to DIR/url is then the TCP one, and the Unix
# socket's URL is in DIR/local_url either way. PG_CLUSTER_PORT sets the
# port (default 5432).
set -eu

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
action=$1
state=$2

bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        echo "$PG_BINDIR"
        return
    fi
    found=
    for d in /usr/lib/postgresql/*/bin; do # the last one found (the newest of 10 and up)
        if [ -x "$d/initdb" ]; then
            found=$d
        fi
    done
    if [ -n "$found" ]; then
        echo "$found"
    else
        dirname "$(command -v initdb || echo /nonexistent/initdb)"
    fi
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid="$owner" --regid="$(id -g "$owner")" --clear-groups -- "$@"
    else
        "$@"
    fi
}

owner=${PG_CLUSTER_USER:-nobody}
bin=$(bindir)
port=${PG_CLUSTER_PORT:-5432}
listen=${PG_CLUSTER_LISTEN:-}

start() {
    if [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
        echo "$0: no PostgreSQL server binaries in $bin (Debian package postgresql)" >&2
        exit 1
    fi
    mkdir -p "$state"
    if [ -f "$state/cluster" ]; then
        stop
    fi
    cluster=$(mktemp -d "${TMPDIR:-/tmp}/img-pg.XXXXXX")
    echo "$cluster" > "$state/cluster"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$owner:$(id -g "$owner")" "$cluster"
    fi
    chmod 0700 "$cluster"
    cd /
    if ! as_owner "$bin/initdb" -D "$cluster/data" -U postgres -A trust -E UTF8 \
        --no-locale --no-sync > "$cluster/initdb.log" 2>&1; then
        cat "$cluster/initdb.log" >&2
        exit 1
    fi
    if [ -n "$listen" ]; then
        echo "host all all ${PG_CLUSTER_TRUST:-$listen/32} trust" >> "$cluster/data/pg_hba.conf"
    fi
    # fsync off: a test cluster that a power cut may lose whole; the store's
    # own durability settings are unchanged (synchronous_commit is per session).
    if ! as_owner "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w -t 60 \
        -o "-c listen_addresses=$listen -k $cluster -p $port -c fsync=off -c max_connections=200" \
        start > /dev/null; then
        cat "$cluster/server.log" >&2
        exit 1
    fi
    url="postgresql://postgres@/postgres?host=$cluster&port=$port"
    echo "$url" > "$state/local_url"
    if [ -n "$listen" ]; then
        url="postgresql://postgres@$listen:$port/postgres"
    fi
    echo "$url" > "$state/url"
    echo "$url"
}

stop() {
    [ -f "$state/cluster" ] || return 0
    cluster=$(cat "$state/cluster")
    case $cluster in
    "${TMPDIR:-/tmp}"/img-pg.*) ;;
    *)
        echo "$0: $state/cluster does not name a cluster folder" >&2
        exit 1
        ;;
    esac
    if [ -d "$cluster/data" ]; then
        cd /
        as_owner "$bin/pg_ctl" -D "$cluster/data" -w -t 60 -m fast stop > /dev/null 2>&1 || true
    fi
    rm -rf "$cluster"
    rm -f "$state/cluster" "$state/url" "$state/local_url"
}

case $action in
start) start ;;
stop) stop ;;
*) usage ;;
esac
