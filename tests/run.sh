#!/bin/sh
# tests/run.sh [unit|e2e] - run the unit binaries and the end-to-end scripts.
# Each prints "N passed, N failed" as its last line; this adds them up and
# ends the suite with the same line.  Exit status 1 when anything failed.
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export BUILD BIN
what=${1:-all}
out=${TEST_OUT:-tests/out}
mkdir -p "$out/unit" "$out/e2e" "$out/fuzz"
pass=0
fail=0

run_one() {
	name=$1
	shift
	log="$out/$name.log"
	"$@" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $name: no result line (exit $rc); see $log"
		tail -n 20 "$log" | sed 's/^/    /'
		fail=$((fail + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		[ "$f" -eq 0 ] && fail=$((fail + 1))
		echo "FAIL $name: $line (exit $rc); see $log"
		grep -E 'FAIL|failed|not ok|ERROR' "$log" | head -n 20 | sed 's/^/    /'
		grep '^daemon log: ' "$log" | sed 's/^/    /'
	else
		echo "ok   $name: $line"
	fi
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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
