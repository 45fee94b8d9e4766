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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
