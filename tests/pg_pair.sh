#!/bin/sh
# tests/pg_pair.sh start|kill|promote|rebuild|standby-down|standby-up|stop DIR - a
# throw-away PostgreSQL primary with one synchronous streaming standby, for the
# failover tests (issue 15).
#
#   start DIR    the primary in DIR/p (tests/pg.sh, durable settings), database
#                "waybill"; the standby in DIR/s from pg_basebackup -R, streaming
#                from it; the primary's commits wait for the standby's flush
#                (synchronous_standby_names = standby1, synchronous_commit = on).
#                Each listens on a Unix socket in its own directory only
#                (listen_addresses = '').  Prints the daemons' multi-host URL:
#                both socket directories and target_session_attrs=read-write, so
#                libpq connects to whichever of them takes writes.
#   kill DIR     the primary dies as its machine would: SIGKILL to its postmaster
#                and to every process the postmaster started, at once
#   promote DIR  pg_ctl promote on the standby; waits until it takes writes.  It
#                has no standby of its own: its commits wait for no one.
#   rebuild DIR  the dead one's directory is a new standby of the new primary
#                (pg_basebackup again), synchronous as at start: the next cycle
#   standby-down DIR  the standby stops at once (immediate): the primary's
#                commits wait for it, as they do for a standby whose machine hangs
#   standby-up DIR    it starts again and streams: the waiting commits finish
#   stop DIR     both stopped (immediate) and DIR removed
#
# Runs the servers as the postgres user when run as root, as tests/pg.sh does.
set -e
cmd=$1
dir=$2
usage="usage: tests/pg_pair.sh start|kill|promote|rebuild|standby-down|standby-up|stop DIR"
[ -n "$dir" ] || { echo "$usage" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "pg_pair.sh: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# The primary's options beyond tests/pg.sh's (command-line ones: pg_basebackup
# does not copy them).  synchronous_standby_names comes once the standby streams
# (ALTER SYSTEM, after the copy: the standby, once promoted, waits for no one).
sync_opts="-c synchronous_commit=on -c wal_level=replica -c max_wal_senders=4 -c wal_keep_size=64MB"
# recovering SUBDIR: "t" (a standby), "f" (takes writes), "" (not answering).
recovering() {
	psql -qAtX "postgresql:///waybill?host=$1&user=waybill" -c "SELECT pg_is_in_recovery()" 2>/dev/null || true
}
primary_of() {
	for x in p s; do [ "$(recovering "$1/$x")" = f ] && { echo $x; return 0; }; done
	return 1
}
standby_of() {
	for x in p s; do [ "$(recovering "$1/$x")" = t ] && { echo $x; return 0; }; done
	return 1
}
standby_opts() { echo "-k $1 -c listen_addresses='' -c max_connections=200 -c shared_buffers=32MB"; }
# standby_from DIR FROM TO: a copy of FROM's server in DIR/TO (pg_basebackup -R:
# standby.signal, primary_conninfo with the application_name that
# synchronous_standby_names names), started, and FROM's commits made to wait
# for it once it streams.
standby_from() {
	d=$1 from=$2 to=$3
	mkdir -p "$d/$to"
	[ "$(id -u)" = 0 ] && chown postgres "$d/$to"
	as_pg "$bindir/pg_basebackup" -d "host=$d/$from user=waybill application_name=standby1" \
		-D "$d/$to/data" -R -X stream -c fast >"$d/$to/basebackup.log" 2>&1 ||
		{ cat "$d/$to/basebackup.log" >&2; return 1; }
	as_pg "$bindir/pg_ctl" -D "$d/$to/data" -l "$d/$to/server.log" -w -t 30 \
		-o "$(standby_opts "$d/$to")" start >/dev/null || { cat "$d/$to/server.log" >&2; return 1; }
	psql -qAtX "postgresql:///waybill?host=$d/$from&user=waybill" -c \
		"ALTER SYSTEM SET synchronous_standby_names = 'standby1'" -c "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 300); do
		st=$(psql -qAtX "postgresql:///waybill?host=$d/$from&user=waybill" -c \
			"SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'" \
			2>/dev/null || true)
		[ "$st" = sync ] && return 0
		sleep 0.1
	done
	echo "pg_pair.sh: the standby is not synchronous ($st)" >&2
	return 1
}
case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	chmod 755 "$dir"
	PG_DURABLE=1 PG_EXTRA_OPTS="$sync_opts" sh "$here/pg.sh" start "$dir/p" >/dev/null
	standby_from "$dir" p s
	echo "postgresql:///waybill?host=$dir/p,$dir/s&user=waybill&target_session_attrs=read-write"
	;;
kill)
	# The one that takes writes (after a rebuild the roles may have swapped).
	pri=$(primary_of "$dir") || { echo "pg_pair.sh: no primary running" >&2; exit 1; }
	pm=$(head -n 1 "$dir/$pri/data/postmaster.pid")
	kids=$(ps -o pid= --ppid "$pm" || true)
	# shellcheck disable=SC2086
	kill -KILL "$pm" $kids
	for _ in $(seq 100); do
		alive=0
		for p in $pm $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.05
	done
	;;
promote)
	sb=$(standby_of "$dir") || { echo "pg_pair.sh: no standby running" >&2; exit 1; }
	as_pg "$bindir/pg_ctl" -D "$dir/$sb/data" -w -t 30 promote >/dev/null
	for _ in $(seq 300); do
		[ "$(recovering "$dir/$sb")" = f ] && exit 0
		sleep 0.1
	done
	echo "pg_pair.sh: the standby did not leave recovery" >&2
	exit 1
	;;
rebuild)
	# The dead one comes back as the standby of the one that took over.
	pri=$(primary_of "$dir") || { echo "pg_pair.sh: no primary running" >&2; exit 1; }
	[ "$pri" = p ] && other=s || other=p
	[ -f "$dir/$other/data/postmaster.pid" ] &&
		as_pg "$bindir/pg_ctl" -D "$dir/$other/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir/$other/data"
	standby_from "$dir" "$pri" "$other"
	;;
standby-down)
	sb=$(standby_of "$dir") || { echo "pg_pair.sh: no standby running" >&2; exit 1; }
	echo "$sb" >"$dir/standby.down"
	as_pg "$bindir/pg_ctl" -D "$dir/$sb/data" -m immediate -w stop >/dev/null
	;;
standby-up)
	sb=$(cat "$dir/standby.down") || { echo "pg_pair.sh: no standby was stopped" >&2; exit 1; }
	as_pg "$bindir/pg_ctl" -D "$dir/$sb/data" -l "$dir/$sb/server.log" -w -t 30 \
		-o "$(standby_opts "$dir/$sb")" start >/dev/null || { cat "$dir/$sb/server.log" >&2; exit 1; }
	rm -f "$dir/standby.down"
	;;
stop)
	for d in "$dir/s/data" "$dir/p/data"; do
		[ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
	;;
*)
	echo "$usage" >&2
	exit 2
	;;
esac
