#!/bin/sh
# eio: the disk answers EIO, through the LD_PRELOAD shim eio_shim.c, while 16 writers post.
# Three faults in turn, each on for TORTURE_EIO_SECS (default 2) while a control file exists:
#   pwrite  on the write-ahead log (torture.db-wal)
#   fsync   (and fdatasync) on the database and its log
#   pread   on the database and its log (readers run beside the writers)
# While a fault is on, writes answer 503 and never 500; no write answers 201 while every
# write or sync fails (such a 201 would not be durable); no acked order reads 404.  When it
# is off, 201s come back on the same daemon.  At the end every acked order is read back, the
# chain verified and integrity_check run, then once more after a kill -9 and a start without
# the shim (what a failed commit left in the log must not surface as damage).
# Last, a log that stays unwritable (every pwrite after the first 500): writes answer 503
# until the daemon is stopped; started without the shim, it has every acked order.  And
# starts on a disk where every fsync, pwrite or pread fails: refused cleanly, or running.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

SECS=${TORTURE_EIO_SECS:-2}
t_setup
t_shim || die setup "cannot build the shim"
CONTROL=$DIR/eio.on

# with_shim MATCH OPS: the daemon's environment for the next t_up.
with_shim() {
	# Under make sanitize, ASan must not insist on being first in the preload list.
	DAEMON_ENV=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
		LD_PRELOAD="$SHIM" EIO_SHIM_MATCH="$1" EIO_SHIM_OPS="$2" EIO_SHIM_CONTROL="$CONTROL"
		EIO_SHIM_COUNT="$DIR/eio.count.$3")
}

E503=0 E500=0 RESTARTS=0 FAULTS=0 UNDURABLE=0 READ404=0
# phase NAME MATCH OPS: one fault, on and off, on a daemon started with the shim.
phase() {
	local name=$1 match=$2 ops=$3 out=$DIR/$1 before during after n503 n500 faults
	with_shim "$match" "$ops" "$name"
	t_up || die "$name: start" "waybilld did not start with the shim"
	t_writers_start "$out"
	t_wait_code "$out" 201 200 30 || fail "$name: writers got no 201s before the fault"
	touch "$CONTROL"
	# Requests already past their commit may still answer 201: give them a second (more
	# on a loaded machine: TORTURE_EIO_SETTLE) before counting.
	sleep "${TORTURE_EIO_SETTLE:-1}"
	before=$(val "$out/live" 201)
	# Readers beside the writers: acked orders of the earlier phases and of this one.
	mkdir -p "$out/r"
	cat "$DIR"/*/acked.tsv 2>/dev/null | tail -n 400 >"$out/r/acked.tsv"
	READ_TRIES=1 t_clients readback "$out/r" &
	local rpid=$!
	sleep "$SECS"
	during=$(($(val "$out/live" 201) - before))
	wait "$rpid"
	rm -f "$CONTROL"
	faults=$(cat "$DIR/eio.count.$name" 2>/dev/null || echo 0)
	FAULTS=$((FAULTS + faults))
	if [ "$ops" != pread ]; then
		if [ "$during" -eq 0 ]; then
			ok "$name: no 201 while every $ops fails"
		else
			UNDURABLE=$((UNDURABLE + during))
			fail "$name: no 201 while every $ops fails" "$during answered 201"
		fi
	fi
	n503=$(val "$out/live" 503)
	[ "$faults" -gt 0 ] && ok "$name: $faults calls failed with EIO" || fail "$name: the shim failed no call"
	[ "$n503" -gt 0 ] && ok "$name: writes answer 503 ($n503)" ||
		{ [ "$ops" = pread ] && ok "$name: no write needed a failed read"; } ||
		fail "$name: writes answer 503" "none did: $(tr '\n' ' ' <"$out/live")"
	[ "$(val "$out/r/readback.out" lost)" -eq 0 ] && ok "$name: no acked order reads 404" || {
		READ404=$((READ404 + $(val "$out/r/readback.out" lost)))
		fail "$name: reads" "$(val "$out/r/readback.out" lost) acked orders answered 404"
	}
	if kill -0 "$DPID" 2>/dev/null; then
		after=$(val "$out/live" 201)
		if t_wait_code "$out" 201 $((after + 100)) 30; then
			ok "$name: fault off: 201s again on the same daemon"
		else
			fail "$name: fault off: writes recover" "$(tr '\n' ' ' <"$out/live")"
		fi
	else
		# The daemon chose to exit: it must start again and keep every acked order.
		echo "$name: the daemon exited under the fault: $(grep -v ' info ' "$DIR/log" | tail -n 2 | tr '\n' '|')"
		wait "$DPID" 2>/dev/null
		DPID=
		RESTARTS=$((RESTARTS + 1))
		t_up || die "$name: restart" "waybilld did not start after exiting under EIO"
		after=$(val "$out/live" 201)
		t_wait_code "$out" 201 $((after + 100)) 30 && ok "$name: 201s again after a restart" ||
			fail "$name: writes recover after a restart"
	fi
	t_writers_stop "$out"
	n500=$(($(val "$out/write.out" 500) + $(val "$out/r/readback.out" get_500)))
	[ "$n500" -eq 0 ] && ok "$name: no 500 answer" || fail "$name: no 500 answer" "$n500 answered 500"
	[ "$(val "$out/write.out" other)" -eq 0 ] && ok "$name: no unexpected answer" ||
		fail "$name: unexpected answers" "$(val "$out/write.out" other)"
	E503=$((E503 + $(val "$out/write.out" 503)))
	E500=$((E500 + n500))
	t_clients retry "$out"
	E500=$((E500 + $(val "$out/retry.out" 500)))
	t_clients readback "$out"
	[ "$(val "$out/readback.out" lost)" -eq 0 ] && [ "$(val "$out/readback.out" read_other)" -eq 0 ] &&
		ok "$name: all $(val "$out/readback.out" acked_distinct) acked orders read back" ||
		fail "$name: read back" "$(tr '\n' ' ' <"$out/readback.out")"
	t_verify "$name: audit verify"
	t_integrity "$name: integrity_check"
	stop_daemon "$name: SIGTERM exits 0"
	figure "eio_${name}_faults" "$faults"
	figure "eio_${name}_503" "$(val "$out/write.out" 503)"
	figure "eio_${name}_acked" "$(val "$out/readback.out" acked_distinct)"
}

phase pwrite torture.db-wal pwrite
phase fsync torture.db fsync,fdatasync
phase pread torture.db pread

# A disk that does not heal: every write to the log after the first 500 fails, until the
# daemon is stopped and started without the shim.
persist() {
	local out=$DIR/persist rc faults
	with_shim torture.db-wal pwrite persist
	DAEMON_ENV+=(EIO_SHIM_CONTROL= EIO_SHIM_AFTER=500)
	t_up || die "persist: start" "waybilld did not start with the shim"
	t_writers_start "$out"
	if t_wait_code "$out" 503 20 60; then
		ok "persist: writes answer 503 once the log cannot be written"
	else
		fail "persist: writes answer 503" "$(tr '\n' ' ' <"$out/live")"
	fi
	sleep "$SECS"
	if kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null # still there after 15 s: status 137
		wait "$DPID"
		rc=$?
		echo "persist: the daemon stayed up; SIGTERM: exit status $rc"
	else
		wait "$DPID"
		rc=$?
		echo "persist: the daemon exited by itself, status $rc"
		RESTARTS=$((RESTARTS + 1))
	fi
	DPID=
	figure eio_persist_exit_status "$rc"
	DAEMON_ENV=()
	t_up || die "persist: restart" "waybilld did not start without the shim"
	t_writers_stop "$out"
	t_clients retry "$out"
	[ "$(val "$out/retry.out" retry_bad)" -eq 0 ] && ok "persist: every unanswered order answers 200 or 201 when sent again" ||
		fail "persist: unanswered orders sent again" "$(tr '\n' ' ' <"$out/retry.out")"
	n500=$(($(val "$out/write.out" 500) + $(val "$out/retry.out" 500)))
	[ "$n500" -eq 0 ] && ok "persist: no 500 answer" || fail "persist: no 500 answer" "$n500"
	E500=$((E500 + n500))
	E503=$((E503 + $(val "$out/write.out" 503)))
	faults=$(cat "$DIR/eio.count.persist" 2>/dev/null || echo 0)
	FAULTS=$((FAULTS + faults))
	figure eio_persist_faults "$faults"
	# Its acked orders are read back below, with every other phase's.
	figure eio_persist_503 "$(val "$out/write.out" 503)"
	figure eio_persist_acked "$(sort -u "$out/acked.tsv" | wc -l)"
}
persist

# Everything once more after a kill -9 and a start without the shim (the daemon the
# persistent fault's phase started without it).  Between them, a start on a disk where
# every call of one kind fails: the daemon may refuse to start, but with an exit status
# and a message, not a crash, and it must leave nothing a good start cannot open.
t_kill9
REFUSED=0
for ops in fsync,fdatasync pwrite pread; do
	port=$(pick_port)
	: >"$DIR/start.log"
	env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		LD_PRELOAD="$SHIM" EIO_SHIM_MATCH=torture.db EIO_SHIM_OPS="$ops" EIO_SHIM_CONTROL= \
		"$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$port" 2>"$DIR/start.log" &
	spid=$!
	state=
	for _ in $(seq 300); do
		kill -0 "$spid" 2>/dev/null || { state=exited; break; }
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" && { state=up; break; }
		sleep 0.1
	done
	if [ "$state" = up ]; then
		# Up on a disk that fails: a write must answer 503 (the shim is there: not 201).
		code=$(sed -n 1p "$FIXTURES" | jq -c '.client_order_id = "start-'"${ops%%,*}"'"' |
			curl -s -o /dev/null -w '%{http_code}' --max-time 20 -H "Content-Type: application/json" \
				-H "Authorization: Bearer $(awk 'NR == 1 { print $2 }' "$DIR/tokens")" \
				--data-binary @- "http://127.0.0.1:$port/v1/orders")
		if [ "$code" = 503 ]; then
			ok "start with every $ops failing: it starts, and a write answers 503"
		else
			fail "start with every $ops failing: it starts, and a write answers 503" "got $code"
		fi
		kill -KILL "$spid"
		wait "$spid" 2>/dev/null
	elif [ "$state" = exited ]; then
		wait "$spid"
		rc=$?
		if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && [ -s "$DIR/start.log" ]; then
			REFUSED=$((REFUSED + 1))
			ok "start with every $ops failing: refused with exit status $rc and a message"
		else
			fail "start with every $ops failing" "exit status $rc: $(tail -n 2 "$DIR/start.log" | tr '\n' '|')"
		fi
	else
		kill -KILL "$spid"
		wait "$spid" 2>/dev/null
		fail "start with every $ops failing" "neither started nor exited in 30 s"
	fi
	cat "$DIR/start.log" >>"$DIR/log"
done
t_up || die final "waybilld did not start after kill -9"
mkdir -p "$DIR/all"
cat "$DIR"/{pwrite,fsync,pread,persist}/acked.tsv >"$DIR/all/acked.tsv"
t_clients readback "$DIR/all"
acked=$(val "$DIR/all/readback.out" acked_distinct)
lost=$(val "$DIR/all/readback.out" lost)
[ "$lost" -eq 0 ] && [ "$(val "$DIR/all/readback.out" read_other)" -eq 0 ] &&
	ok "after kill -9 and a start without faults: all $acked acked orders read back" ||
	fail "final read back" "$(tr '\n' ' ' <"$DIR/all/readback.out")"
t_verify "final: audit verify"
t_integrity "final: integrity_check"

figure eio_faults "$FAULTS"
figure eio_acked "$acked"
figure eio_lost "$lost"
figure eio_503 "$E503"
figure eio_500 "$E500"
figure eio_201_without_durable_commit "$UNDURABLE"
figure eio_reads_404 "$READ404"
figure eio_restarts "$RESTARTS"
figure eio_starts_refused "$REFUSED"
figure eio_verify_failures "$VERIFY_FAILS"
figure eio_integrity_failures "$INTEGRITY_FAILS"
# What the daemon logged under the faults: error paths too carry no personal data.
no_pii "daemon log" "$DIR/log"
finish
