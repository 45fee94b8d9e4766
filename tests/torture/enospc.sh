#!/bin/sh
# enospc: a full disk under 16 writers.  The database lives on its own small tmpfs
# (TORTURE_FS_MB, default 64; mounting needs root); once the writers are going, a filler
# file takes every free byte.  Writes must answer 503 (never 500, never a 201 that is not
# on disk), reads of acked orders 200 or 503 (never 404); then the filler goes and writes
# must come back without a restart.  Every acked order is read back, the audit chain
# verified and PRAGMA integrity_check run, on the running daemon and after a restart.
# Where no tmpfs can be mounted (not root), the shim stands in: every pwrite on the
# database and its log fails with ENOSPC while the filler would be there
# (TORTURE_ENOSPC_SHIM=1 chooses that as root too).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

FS_MB=${TORTURE_FS_MB:-64}
MNT=
MODE=tmpfs
mount_fs() {
	MNT=$DIR/fs
	mkdir -p "$MNT" || return 1
	if [ "${TORTURE_ENOSPC_SHIM:-0}" = 1 ] ||
		! mount -t tmpfs -o "size=${FS_MB}m,mode=0700" tmpfs "$MNT" 2>"$DIR/mount.err"; then
		echo "no tmpfs ($(cat "$DIR/mount.err" 2>/dev/null || echo TORTURE_ENOSPC_SHIM=1)): ENOSPC from the shim instead"
		MNT=
		MODE=shim
		return 0
	fi
	DB=$MNT/torture.db
}
umount_fs() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	MNT=
}
T_SETUP_HOOK=mount_fs
T_CLEANUP_HOOK=umount_fs

t_setup
# The fault under test is the disk filling up, not the headroom bound (46-readiness
# tests that): a bound this small lets the daemon start and write on the small disk.
DAEMON_ENV=(WAYBILL_MIN_FREE_MB=1)
if [ "$MODE" = shim ]; then
	t_shim || die setup "cannot build the shim"
	DAEMON_ENV+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
		LD_PRELOAD="$SHIM" EIO_SHIM_MATCH=torture.db EIO_SHIM_OPS=pwrite
		EIO_SHIM_ERRNO=ENOSPC EIO_SHIM_CONTROL="$DIR/full")
fi
t_up || die setup "waybilld did not start"
out=$DIR/w
t_writers_start "$out"
t_wait_code "$out" 201 200 30 || die "writers" "no 201s before the disk filled"

# Fill the disk: the filler takes what is left, in 64 KiB and then 4 KiB pieces.
if [ "$MODE" = tmpfs ]; then
	dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
	dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null
else
	touch "$DIR/full"
fi
acked_at_full=$(val "$out/live" 201)
if t_wait_code "$out" 503 20 60; then
	ok "full disk: writes answer 503"
else
	fail "full disk: writes answer 503" "$(tr '\n' ' ' <"$out/live")"
fi
acked_full=$(($(val "$out/live" 201) - acked_at_full))
sleep 2
# Reads while the disk is full: 200, or 503 when the read's audit entry cannot be written.
cp "$out/acked.tsv" "$DIR/r-full.tsv" && mkdir -p "$DIR/rf" && mv "$DIR/r-full.tsv" "$DIR/rf/acked.tsv"
READ_TRIES=1 READ_LIMIT=200 t_clients readback "$DIR/rf"
[ "$(val "$DIR/rf/readback.out" lost)" -eq 0 ] && ok "full disk: no acked order reads as 404" ||
	fail "full disk: reads" "$(val "$DIR/rf/readback.out" lost) acked orders answered 404"
[ "$(val "$DIR/rf/readback.out" get_500)" -eq 0 ] && ok "full disk: no read answers 500" ||
	fail "full disk: reads" "$(val "$DIR/rf/readback.out" get_500) answered 500"
e503_full=$(val "$out/live" 503)
e500_full=$(val "$out/live" 500)
[ "$e500_full" -eq 0 ] && ok "full disk: no write answers 500" || fail "full disk: writes" "$e500_full answered 500"
kill -0 "$DPID" 2>/dev/null && ok "full disk: the daemon stays up" || fail "full disk: the daemon stays up" "it exited"

# Free the space: writes come back on the same daemon.
if [ "$MODE" = tmpfs ]; then rm -f "$MNT/filler" "$MNT/filler2"; else rm -f "$DIR/full"; fi
freed_at=$(date +%s.%N)
before=$(val "$out/live" 201)
if t_wait_code "$out" 201 $((before + 100)) 60; then
	ok "space freed: writes answer 201 again without a restart"
else
	fail "space freed: writes recover" "$(tr '\n' ' ' <"$out/live")"
fi
recover_ms=$(awk -v a="$freed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", (b - a) * 1000 }')
t_writers_stop "$out"
kill -0 "$DPID" 2>/dev/null && ok "space freed: the same daemon still runs" || fail "space freed: daemon" "it exited"

t_clients retry "$out"
t_clients readback "$out"
acked=$(val "$out/readback.out" acked_distinct)
lost=$(val "$out/readback.out" lost)
other=$(val "$out/readback.out" read_other)
[ "$lost" -eq 0 ] && [ "$other" -eq 0 ] && ok "all $acked acked orders read back" ||
	fail "read back" "$acked acked, $lost lost, $other other"
t_verify "audit verify"
t_integrity "integrity_check"

stop_daemon "SIGTERM after the full disk exits 0"
DAEMON_ENV=(WAYBILL_MIN_FREE_MB=1)
t_up || die restart "waybilld did not start again"
t_clients readback "$out"
lost2=$(val "$out/readback.out" lost)
[ "$lost2" -eq 0 ] && [ "$(val "$out/readback.out" read_other)" -eq 0 ] &&
	ok "after a restart: all $acked acked orders read back" || fail "after a restart" "$lost2 lost"
t_verify "after a restart: audit verify"
t_integrity "after a restart: integrity_check"
e500=$(($(val "$out/write.out" 500) + $(val "$out/retry.out" 500)))
[ "$e500" -eq 0 ] && ok "no 500 answer" || fail "no 500 answer" "$e500"
[ "$(val "$out/write.out" other)" -eq 0 ] && ok "no unexpected answer" ||
	fail "no unexpected answer" "$(val "$out/write.out" other) answers neither 2xx, 503 nor 500"

[ "$MODE" = tmpfs ] && figure enospc_fs_mb "$FS_MB"
figure enospc_acked "$acked"
figure enospc_acked_after_fill "$acked_full"
figure enospc_503 "$e503_full"
figure enospc_500 "$e500"
figure enospc_reads_503_while_full "$(val "$DIR/rf/readback.out" read_503)"
figure enospc_lost "$((lost + lost2))"
figure enospc_recovery_ms "$recover_ms"
figure enospc_verify_failures "$VERIFY_FAILS"
figure enospc_integrity_failures "$INTEGRITY_FAILS"
# What the daemon logged under the faults: error paths too carry no personal data.
no_pii "daemon log" "$DIR/log"
finish
