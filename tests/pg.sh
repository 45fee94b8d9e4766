#!/bin/sh
# tests/pg.sh start DIR | stop DIR - a throw-away PostgreSQL cluster for the
# tests: initdb into DIR (as the postgres user when run as root, since the
# server refuses to run as root), listening on a Unix socket in DIR only (no
# TCP port), database "waybill".  Prints the URL to give `db`.  Durability is
# off (fsync, synchronous_commit, full_page_writes): a test cluster dies with
# its directory; PG_DURABLE=1 keeps the defaults (failover, durability tests).
# PG_EXTRA_OPTS: more server options (tests/pg_pair.sh's replication ones).
set -e
cmd=$1
dir=$2
[ -n "$dir" ] || { echo "usage: tests/pg.sh start|stop DIR" >&2; exit 2; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U waybill -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	opts="-k $dir -c listen_addresses='' -c max_connections=200 -c shared_buffers=32MB"
	[ "${PG_DURABLE:-0}" = 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	opts="$opts ${PG_EXTRA_OPTS:-}"
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$opts" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	as_pg "$bindir/createdb" -h "$dir" -U waybill waybill
	echo "postgresql:///waybill?host=$dir&user=waybill"
	;;
stop)
	[ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: tests/pg.sh start|stop DIR" >&2
	exit 2
	;;
esac
