#!/bin/sh
# tests/run.sh [unit|e2e|e2e-pg] - run the unit binaries and the end-to-end
# scripts: all = unit, e2e on SQLite, then e2e on PostgreSQL (a throw-away
# cluster, tests/pg.sh; WAYBILL_TEST_PG names its socket directory).
# Each prints "N passed, N failed" as its last line; this adds them up and
# ends the suite with the same line.  Exit status 1 when anything failed.
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export BUILD BIN
what=${1:-all}
out=${TEST_OUT:-tests/out}
mkdir -p "$out/unit" "$out/e2e" "$out/fuzz"
. "$(dirname "$0")/tally.sh" # tally: the one count of result lines

run_one() {
	name=$1
	shift
	log="$out/$name.log"
	"$@" >"$log" 2>&1
	tally "$name" "$log" $?
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *.d) continue ;; esac
		run_one "unit/$(basename "$t")" "$t"
	done
	# Each fuzz target's seed corpus, replayed once (tests/fuzz/replay.c).
	for t in "$BUILD"/tests/fuzzreplay_*; do
		[ -x "$t" ] || continue
		name=${t##*/fuzzreplay_}
		run_one "fuzz/$name" "$t" "tests/fuzz/corpus_$name"
	done
fi
if [ "$what" = all ] || [ "$what" = e2e ]; then
	for t in tests/e2e/[0-9]*.sh; do
		[ -f "$t" ] || continue
		run_one "e2e/$(basename "$t" .sh)" sh "$t"
	done
fi
# The PostgreSQL pass: every script, on either backend, and the cluster test.
# Their tampering and fault injection go through lib.sh (db_sql, db_copy,
# db_files, audit_unguard) on whichever backend runs; the parts that are
# SQLite's alone (its WAL file, a full disk under it, db-lock) say so inside
# the script.  Each script left out is named with its reason, and a script
# in no list fails the pass.
PG_READY="10-orders 30-matrix 40-bad-request 41-errors 45-fail-closed 55-tls 56-process
57-account-names 61-sort-codes 62-print-jobs 65-oidc 70-calls 75-call-limits 80-admin 91-config-keys 93-proxy
95-drain 96-connections 98-cluster 99-failover"
# Ported: their tampering goes through lib.sh's db_sql, db_copy and db_files
# on either backend; what is SQLite's alone inside them is said there.
PG_READY="$PG_READY 15-metrics 20-privacy 46-readiness 47-start-verify 50-audit 52-audit-archive
58-seal-binding 67-station 85-server-errors 90-retention-keys 95-service 97-restore"
# Labels and the short fault run: ~100 s more for make test (19, 39, 43 s).
PG_READY="$PG_READY 60-labels 61-label-formats 95-torture-short"
# These start a PostgreSQL cluster of their own in the first pass (the move
# from SQLite, a base backup and its restore): nothing is left for this one.
PG_OWN="99-migrate 99-pg-backup"
if [ "$what" = all ] || [ "$what" = e2e-pg ]; then
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/waybill-pg.XXXXXX")
	chmod 755 "$pgdir" # the server runs as postgres when this runs as root
	if sh "$(dirname "$0")/pg.sh" start "$pgdir/c" >"$out/pg-start.log" 2>&1; then
		export WAYBILL_TEST_PG="$pgdir/c"
		mkdir -p "$out/e2e-pg"
		for t in tests/e2e/[0-9]*.sh; do
			[ -f "$t" ] || continue
			name=$(basename "$t" .sh)
			case " $(echo $PG_READY) " in
			*" $name "*) run_one "e2e-pg/$name" sh "$t" ;;
			*)
				case " $PG_OWN " in
				*" $name "*) echo "skip e2e-pg/$name: ran in the first pass on a PostgreSQL cluster of its own" ;;
				*)
					# A new script must say which backends it runs on.
					echo "FAIL e2e-pg/$name: in none of tests/run.sh's PG_READY, PG_OWN"
					fail=$((fail + 1))
					;;
				esac
				;;
			esac
		done
		unset WAYBILL_TEST_PG
	else
		echo "FAIL e2e-pg: the PostgreSQL test cluster did not start; see $out/pg-start.log"
		fail=$((fail + 1))
	fi
	sh "$(dirname "$0")/pg.sh" stop "$pgdir/c" >/dev/null 2>&1
	rm -rf "$pgdir"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
