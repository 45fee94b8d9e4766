#!/bin/sh
# tests/torture/run.sh - the fault suite (make torture; a short run in make test).
#
# Runs kill9.sh, sigterm.sh, slowconn.sh, enospc.sh, eio.sh and failover.sh (PostgreSQL:
# a primary killed under load, its synchronous standby promoted) in turn.  Each script
# prints its figures as "figure: NAME VALUE" lines (or one "SCRIPT: k=v k=v ..." line,
# as sigterm.sh and slowconn.sh do) and ends with "N passed, N failed";
# this prints every figure in one table and ends with the sum, "N passed, N failed".
# Exit status 1 when anything failed.
#
#   TORTURE_CYCLES    kill -9 cycles (default 20; 3 in make test); sigterm.sh may use it too
#   TORTURE_KILL9_SECS  the kill comes 0.2 s to 0.2 + this (default 1.8) into each cycle's load
#   TORTURE_EIO_SECS  seconds each EIO fault stays on (default 2); TORTURE_EIO_SETTLE the
#                     second given to requests past their commit before 201s count
#   TORTURE_FS_MB     size of the full-disk test's tmpfs (default 64)
#   TORTURE_OUT       where the logs go (default tests/out/torture)
#   TORTURE_SIGTERM_TRIES  SIGTERMs under keep-alive load (default 100)
#   TORTURE_FAILOVER_CYCLES, TORTURE_FAILOVER_THREADS  failover.sh's kills (default 5) and
#                     writers per daemon (default 12)
#   TORTURE_ONLY      run only these scripts ("kill9 eio", say)
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
TORTURE_CYCLES=${TORTURE_CYCLES:-20}
export BUILD BIN TORTURE_CYCLES
out=${TORTURE_OUT:-tests/out/torture}
mkdir -p "$out"
. tests/tally.sh # tally, as tests/run.sh counts
: >"$out/figures"

for name in ${TORTURE_ONLY:-kill9 sigterm slowconn enospc eio failover}; do
	t=tests/torture/$name.sh
	[ -f "$t" ] || { echo "--   torture/$name: no $t, skipped"; continue; }
	log=$out/$name.log
	start=$(date +%s)
	sh "$t" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	sed -n "s/^figure: \([A-Za-z0-9_]*\) \(.*\)$/$name \1 \2/p" "$log" >>"$out/figures"
	sed -n "s/^$name: //p" "$log" | tr ' ' '\n' | sed -n "s/^\([A-Za-z0-9_]*\)=\(.*\)$/$name \1 \2/p" \
		>>"$out/figures"
	tally "torture/$name" "$log" "$rc" "${secs} s" '^FAIL'
done

echo
echo "fault suite figures (logs in $out)"
awk '{ printf "  %-8s %-34s %12s\n", $1, $2, $3 }' "$out/figures"
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
