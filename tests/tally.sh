# tests/tally.sh - sourced by tests/run.sh and tests/torture/run.sh (POSIX sh):
# the one tally of "N passed, N failed" lines.
#
#   tally NAME LOG RC [NOTE [PATTERN]]
#       adds the last "N passed, N failed" line of LOG to $pass and $fail and
#       prints "ok   NAME: LINE (NOTE)", or "FAIL NAME: LINE (exit RC, NOTE)" with
#       LOG's lines matching PATTERN (an extended regular expression, default
#       any FAIL, failed, not ok or ERROR) and its "daemon log:" lines.  A
#       LOG without that line, or a non-zero RC with 0 failed, counts as one
#       failure.
pass=0
fail=0

tally() {
	t_name=$1
	t_log=$2
	t_rc=$3
	t_note=${4:-}
	t_pat=${5:-FAIL|failed|not ok|ERROR}
	t_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$t_log" | tail -n 1)
	if [ -z "$t_line" ]; then
		echo "FAIL $t_name: no result line (exit $t_rc${t_note:+, $t_note}); see $t_log"
		tail -n 20 "$t_log" | sed 's/^/    /'
		fail=$((fail + 1))
		return
	fi
	t_p=${t_line%% passed*}
	t_f=${t_line#*passed, }
	t_f=${t_f%% failed*}
	pass=$((pass + t_p))
	fail=$((fail + t_f))
	if [ "$t_rc" -ne 0 ] || [ "$t_f" -ne 0 ]; then
		[ "$t_f" -eq 0 ] && fail=$((fail + 1))
		echo "FAIL $t_name: $t_line (exit $t_rc${t_note:+, $t_note}); see $t_log"
		grep -E "$t_pat" "$t_log" | head -n 20 | sed 's/^/    /'
		grep '^daemon log: ' "$t_log" | sed 's/^/    /'
	else
		echo "ok   $t_name: $t_line${t_note:+ ($t_note)}"
	fi
}
