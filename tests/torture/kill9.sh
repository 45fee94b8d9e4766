#!/bin/sh
# kill9: SIGKILL under 16 concurrent writers, TORTURE_CYCLES times (default 20).  Each cycle
# the writers post for a random moment, the daemon is killed with -9 in the middle of their
# requests and started again at once; the writers reconnect and send every unanswered
# request again with its client_order_id (an order the dead daemon committed must answer
# 200 with the same tracking number, not 201 with a second one).  Then every order acked
# in the cycle is read back as its creator, `waybillctl audit verify` and PRAGMA
# integrity_check run.  At the end all acked orders of all cycles are read back once more,
# after a clean restart.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

CYCLES=${TORTURE_CYCLES:-20}
t_setup
t_up || die setup "waybilld did not start"

ACKED=0 LOST=0 OTHER=0 E500=0 E503=0 REPEAT200=0 DOWN_MS=0 DOWN_MAX=0 CONN=0 RESTARTS=0 RETRIED=0 RETRY_BAD=0 BAD=0
for c in $(seq "$CYCLES"); do
	out=$DIR/c$c
	t_writers_start "$out"
	t_wait_code "$out" 201 50 20 || fail "cycle $c: writers got no 201s" "$(tr '\n' ' ' <"$out/live" 2>/dev/null)"
	# A random moment: 0.2 s to 0.2 + TORTURE_KILL9_SECS (1.8) more of load.
	sleep "$(awk -v r="$RANDOM" -v m="${TORTURE_KILL9_SECS:-1.8}" 'BEGIN { printf "%.2f", 0.2 + (r % 1000) / 1000 * m }')"
	t0=$(date +%s%N)
	t_kill9
	RESTARTS=$((RESTARTS + 1))
	t_up || die "cycle $c: restart" "waybilld did not come back after kill -9"
	# From the kill to a /healthz answer: WAL recovery and the audit chain check at start.
	ms=$((($(date +%s%N) - t0) / 1000000))
	DOWN_MS=$((DOWN_MS + ms))
	[ "$ms" -gt "$DOWN_MAX" ] && DOWN_MAX=$ms
	# The writers reconnect to the new daemon and resolve what was in flight.
	t_wait_code "$out" 201 "$(($(val "$out/live" 201) + 50))" 20 ||
		fail "cycle $c: no 201s after the restart"
	t_writers_stop "$out"
	t_clients retry "$out"
	t_clients readback "$out"
	a=$(val "$out/readback.out" acked_distinct)
	l=$(val "$out/readback.out" lost)
	o=$(val "$out/readback.out" read_other)
	ACKED=$((ACKED + a)) LOST=$((LOST + l)) OTHER=$((OTHER + o))
	E500=$((E500 + $(val "$out/write.out" 500) + $(val "$out/retry.out" 500)))
	E503=$((E503 + $(val "$out/write.out" 503)))
	CONN=$((CONN + $(val "$out/write.out" conn)))
	REPEAT200=$((REPEAT200 + $(val "$out/write.out" 200)))
	RETRIED=$((RETRIED + $(val "$out/retry.out" retried_200) + $(val "$out/retry.out" retried_201)))
	RETRY_BAD=$((RETRY_BAD + $(val "$out/retry.out" retry_bad)))
	BAD=$((BAD + $(val "$out/write.out" other) + $(val "$out/write.out" bad_ack_body)))
	if [ "$l" -eq 0 ] && [ "$o" -eq 0 ] && [ "$a" -gt 0 ]; then
		ok "cycle $c: all $a acked orders read back"
	else
		fail "cycle $c: read back" "$a acked, $l lost (404), $o other answers"
	fi
	t_verify "cycle $c: audit verify"
	t_integrity "cycle $c: integrity_check"
	echo "cycle $c: $(tr '\n' ' ' <"$out/write.out")"
done

# Every acked order of every cycle, after a clean stop and start.
mkdir -p "$DIR/all"
cat "$DIR"/c*/acked.tsv >"$DIR/all/acked.tsv"
stop_daemon "SIGTERM after the last cycle exits 0"
t_up || die "final restart" "waybilld did not start"
t_clients readback "$DIR/all"
total=$(val "$DIR/all/readback.out" acked_distinct)
lost_all=$(val "$DIR/all/readback.out" lost)
other_all=$(val "$DIR/all/readback.out" read_other)
if [ "$lost_all" -eq 0 ] && [ "$other_all" -eq 0 ] && [ "$total" -eq "$ACKED" ]; then
	ok "all $total acked orders of $CYCLES cycles read back after a clean restart"
else
	fail "final read back" "$total acked ($ACKED in the cycles), $lost_all lost, $other_all other"
fi
# One tracking number per client_order_id: a retry after the crash never made a second order.
dups=$(awk -F'\t' '{ print $2 "\t" $3 "\t" $1 }' "$DIR/all/acked.tsv" | sort -u |
	awk -F'\t' '{ n[$1 "\t" $2]++ } END { d = 0; for (k in n) if (n[k] > 1) d++; print d }')
[ "$dups" -eq 0 ] && ok "one tracking number per client_order_id" ||
	fail "one tracking number per client_order_id" "$dups client_order_ids got two"
t_verify "final: audit verify"
t_integrity "final: integrity_check"
[ "$E500" -eq 0 ] && ok "no 500 answer" || fail "no 500 answer" "$E500 answers 500"
[ "$BAD" -eq 0 ] && ok "no unexpected answer to a valid order" || fail "unexpected answers" "$BAD"
[ "$RETRY_BAD" -eq 0 ] && ok "every retried order answered 200 or 201" ||
	fail "retried orders" "$RETRY_BAD answered neither 200 nor 201"

figure kill9_cycles "$CYCLES"
figure kill9_restarts "$RESTARTS"
figure kill9_acked "$ACKED"
figure kill9_lost "$((LOST + lost_all))"
figure kill9_unreadable "$((OTHER + other_all))"
figure kill9_conn_errors "$CONN"
figure kill9_503 "$E503"
figure kill9_500 "$E500"
# Requests in flight at the kill that the dead daemon had committed: sent again, they
# answered 200 with the tracking number the lost answer carried.
figure kill9_inflight_committed "$REPEAT200"
figure kill9_retried_after_restart "$RETRIED"
figure kill9_restart_ms_mean "$((DOWN_MS / CYCLES))"
figure kill9_restart_ms_max "$DOWN_MAX"
figure kill9_verify_failures "$VERIFY_FAILS"
figure kill9_integrity_failures "$INTEGRITY_FAILS"
# What the daemon logged under the faults: error paths too carry no personal data.
no_pii "daemon log" "$DIR/log"
finish
