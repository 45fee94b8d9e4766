#!/bin/sh
# 46-readiness: /healthz says the process lives, /readyz whether it can do
# its work.  The database sits on a small filesystem of its own (a 20 MiB
# tmpfs, mounted here and unmounted in the trap); filling it must turn
# /readyz to 503 "disk" while /healthz stays 200, refuse writes with 503,
# log one line when writing starts failing and one when it recovers, and
# still leave room for the checkpoint that empties the log at stop.  A key
# file that goes missing at run time turns /readyz to 503 "key".
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

is_pg || [ "$(id -u)" = 0 ] || { ok "skipped: mounting a small filesystem needs root"; finish; }
start_daemon
lines() { grep -c -- "$1" "$DIR/log"; }

# pg_gate open|shut: let the test's daemons reach its PostgreSQL database, or
# not (ALLOW_CONNECTIONS off and every session of it ended): the database
# server gone, as far as this daemon can tell, while the shared test cluster
# serves the other databases.
pg_gate() {
	local allow=true
	[ "$1" = shut ] && allow=false
	psql -qAtX -v ON_ERROR_STOP=1 "$(pg_url postgres)" \
		-c "ALTER DATABASE $PG_DB ALLOW_CONNECTIONS $allow" \
		-c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$PG_DB' AND '$1' = 'shut'" >/dev/null
}

if is_pg; then
	# PostgreSQL: the disk is the database server's, and a full one has no
	# cheap equivalent here (the WAL is the shared test cluster's; a
	# tablespace on a tmpfs would fill only the heap): the part below that
	# fills a filesystem is SQLite's.  What PostgreSQL has instead is the
	# server going away under the daemon: writes answer 503 at once, /readyz
	# turns 503 "store" while /healthz stays 200, one line each way, and it
	# recovers by itself once the server is back.
	api GET /readyz -
	expect_status "PostgreSQL: ready while the server is there" 200 "$STATUS"
	fixture 1 >"$DIR/o.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
	expect_status "PostgreSQL: an order while the server is there" 201 "$STATUS"
	tn=$(jb .tracking_no)
	failed0=$(lines 'writing failed')
	pg_gate shut || die setup "cannot shut the database"
	for i in 2 3 4; do
		fixture $i >"$DIR/o$i.json"
		api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
		expect_error "PostgreSQL gone: an order ($i)" 503 unavailable
	done
	api GET "/v1/orders/$tn" "${TOK[dep1]}"
	expect_error "PostgreSQL gone: an audited read" 503 unavailable
	api GET /healthz -
	expect_status "PostgreSQL gone: /healthz stays 200" 200 "$STATUS"
	# The idle writer looks at its connection once a second (store_pg.c).
	for _ in $(seq 40); do
		api GET /readyz -
		[ "$STATUS" = 503 ] && break
		sleep 0.25
	done
	expect_status "PostgreSQL gone: /readyz 503" 503 "$STATUS"
	check "PostgreSQL gone: /readyz names the store" test "$(jb '.reasons | join(",")')" = store
	check "PostgreSQL gone: one 'writing failed' line for the whole outage" \
		test "$(($(lines 'writing failed') - failed0))" = 1
	pg_gate open || die setup "cannot open the database"
	for _ in $(seq 60); do
		curl -fs -o /dev/null "$URL/readyz" && break
		sleep 0.25
	done
	api GET /readyz -
	expect_status "PostgreSQL back: /readyz 200 without a write first" 200 "$STATUS"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o2.json"
	expect_status "PostgreSQL back: orders are taken again" 201 "$STATUS"
	api GET "/v1/orders/$tn" "${TOK[dep1]}"
	expect_status "PostgreSQL back: the order from before reads back" 200 "$STATUS"
	check "PostgreSQL back: one 'writing recovered' line" test "$(lines 'writing recovered')" = 1
	api POST "/v1/orders/$tn/status" "${TOK[c1]}" -d '{"status":"picked_up"}'
	stop_daemon "PostgreSQL: sigterm exits 0 after the outage"
	check "PostgreSQL: the chain verifies after the outage" ctl audit verify
	check "PostgreSQL: none of the refused orders was stored" \
		test "$(db_sql 'SELECT count(*) FROM orders')" = 2
	daemon_up || die setup "waybilld after the outage"
fi

is_pg && echo "skip on PostgreSQL: the full disk under the database file is SQLite's (no cheap equivalent for the server's disk)"
if ! is_pg; then
stop_daemon "sigterm exits 0 (before moving the database)"

# From here the trap unmounts what it mounted, then the usual cleanup.
MNT=$DIR/disk
mkdir "$MNT" || die setup "mkdir $MNT"
mount -t tmpfs -o size=20m tmpfs "$MNT" || die setup "mount tmpfs"
trap 'umount -l "$MNT" 2>/dev/null; cleanup' EXIT
mv "$DIR/db" "$MNT/db" || die setup "move db"
rm -f "$DIR/db-wal" "$DIR/db-shm"
ln -s "$MNT/db" "$DIR/db" # waybillctl in lib.sh still finds it

daemon_up --db "$MNT/db" --min-free-mb 4 || die setup "waybilld on the small disk"
api GET /readyz -
expect_status "ready on a disk with room" 200 "$STATUS"
check "ready body" test "$(jb .status)" = ready
fixture 1 >"$DIR/o.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o.json"
expect_status "an order while there is room" 201 "$STATUS"
tn=$(jb .tracking_no)

# Fill the disk to the last byte.
dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null
sync
failed0=$(lines 'writing failed')
for i in 2 3 4; do
	fixture $i >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
	expect_error "an order on a full disk ($i)" 503 unavailable
done
api GET "/v1/orders/$tn" "${TOK[dep1]}"
expect_error "an audited read on a full disk" 503 unavailable
api GET /healthz -
expect_status "/healthz stays 200: the process lives" 200 "$STATUS"
api GET /readyz -
expect_status "/readyz answers 503 on a full disk" 503 "$STATUS"
check "/readyz names the disk" test "$(jb '.reasons | join(",")')" = disk
check "one 'writing failed' line for the whole outage" \
	test "$(($(lines 'writing failed') - failed0))" = 1
check "no 'cannot rollback' line" test "$(lines 'cannot rollback')" = 0
check "no per-batch 'commit failed' line" test "$(lines 'commit failed')" = 0

# A restart on the full disk: the daemon starts unready (it used to refuse to
# start: "cannot record the virtual-number pool") and records its pool once
# space is back.
stop_daemon "sigterm exits 0 on a full disk"
daemon_up --db "$MNT/db" --min-free-mb 4 || die setup "waybilld restarted on the full disk"
check "starts on a full disk, the pool left for later" grep -q 'starting unready' "$DIR/log"
api GET /healthz -
expect_status "restarted on a full disk: /healthz 200" 200 "$STATUS"
api GET /readyz -
expect_status "restarted on a full disk: /readyz 503" 503 "$STATUS"
check "restarted on a full disk: /readyz names the disk" test "$(jb '.reasons | join(",")')" = disk

# Space comes back: ready again without a request, and one line says so.
rm -f "$MNT/fill"
for _ in $(seq 40); do
	curl -fs -o /dev/null "$URL/readyz" && break
	sleep 0.25
done
api GET /readyz -
expect_status "/readyz 200 once space is back" 200 "$STATUS"
check "one 'writing recovered' line" test "$(lines 'writing recovered')" = 1
for _ in $(seq 20); do grep -q 'the pool is recorded' "$DIR/log" && break; sleep 0.25; done
check "the pool recorded once writing works" grep -q 'the pool is recorded' "$DIR/log"
api POST /v1/orders "${TOK[c1]}" "$DIR/o2.json"
expect_status "orders are taken again" 201 "$STATUS"

# Headroom: the database's own writes fill the disk (8 MiB left, a bound of 4).
# Without the bound (measured: min_free_mb 0) the log grew to 9.3 MiB, the
# disk to 0 bytes free, and the stop's checkpoint could not copy the log
# back.  With it, writes stop while a checkpoint still has room.
avail=$(df --output=avail -B1 "$MNT" | tail -n 1)
dd if=/dev/zero of="$MNT/fill" bs=1M count=$(((avail >> 20) - 8)) 2>/dev/null
mkdir "$DIR/many"
n=0
while IFS= read -r line; do
	printf '%s\n' "$line" >"$DIR/many/$n.json"
	n=$((n + 1))
done <"$FIXTURES"
for k in $(seq 0 $((n - 1))); do echo "$k /v1/orders"; done | bulk POST "${TOK[c2]}" "$DIR/many-r" "$DIR/many"
took=$(grep -c ' 201$' "$DIR/many-r.codes")
refused=$(grep -c ' 503$' "$DIR/many-r.codes")
check "orders are taken while there is room ($took of $n)" test "$took" -gt 0
check "the rest are refused with 503 and nothing else ($refused)" test $((took + refused)) = "$n"
stop_daemon "sigterm exits 0 on a nearly full disk"
check "the stop checkpoint copied the whole log back: it is empty" \
	test "$(stat -c %s "$MNT/db-wal" 2>/dev/null || echo 0)" = 0
check "the database passes its quick check" test "$(sqlite3 "$MNT/db" 'PRAGMA quick_check')" = ok
rm -f "$MNT/fill"
check "the chain verifies after the outage" "$WBCTL" --db "$MNT/db" --key-file "$DIR/key" \
	audit verify

# Without the bound (min_free_mb 0) the commit itself fails: still one line each way.
daemon_up --db "$MNT/db" --min-free-mb 0 || die setup "waybilld without a bound"
failed0=$(lines 'writing failed')
recovered0=$(lines 'writing recovered')
dd if=/dev/zero of="$MNT/fill" bs=1M 2>/dev/null
sync
for i in 5 6 7; do
	fixture $i >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[c1]}" "$DIR/o$i.json"
	expect_error "an order whose commit fails ($i)" 503 unavailable
done
api GET /readyz -
expect_status "/readyz 503 while commits fail" 503 "$STATUS"
check "/readyz names the store" test "$(jb '.reasons | join(",")')" = store
check "one 'writing failed' line for failed commits" \
	test "$(($(lines 'writing failed') - failed0))" = 1
check "no 'cannot rollback' line after failed commits" test "$(lines 'cannot rollback')" = 0
rm -f "$MNT/fill"
api POST /v1/orders "${TOK[c1]}" "$DIR/o5.json"
expect_status "an order once space is back" 201 "$STATUS"
api GET /readyz -
expect_status "/readyz 200 after a commit succeeds" 200 "$STATUS"
check "one 'writing recovered' line after failed commits" \
	test "$(($(lines 'writing recovered') - recovered0))" = 1
fi

# The key file goes missing under the running daemon (either backend).
mv "$DIR/key" "$DIR/key.away"
for _ in $(seq 60); do
	api GET /readyz -
	[ "$STATUS" = 503 ] && break
	sleep 0.25
done
expect_status "/readyz 503 once the key file is gone" 503 "$STATUS"
check "/readyz names the key" test "$(jb '.reasons | join(",")')" = key
api GET /healthz -
expect_status "/healthz stays 200 without the key file" 200 "$STATUS"
mv "$DIR/key.away" "$DIR/key"
kill -HUP "$DPID"
for _ in $(seq 60); do
	api GET /readyz -
	[ "$STATUS" = 200 ] && break
	sleep 0.25
done
expect_status "/readyz 200 once the key file is back" 200 "$STATUS"
no_pii "no personal data in the log or the error bodies" "$DIR/log" "$DIR/error_bodies"
stop_daemon
finish
