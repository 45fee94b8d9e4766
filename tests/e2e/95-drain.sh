#!/bin/sh
# 95-drain: SIGTERM under 16 keep-alive clients posting orders ends in exit 0
# within drain_s, try after try, and every order a client got 201 for is
# readable after the restart.  (Before the drain was fixed, libmicrohttpd
# aborted: "MHD_stop_daemon() called while we have suspended connections".)
# TRIES (default 5) tries; tests/torture/sigterm.sh runs 100 and prints the figures.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

TRIES=${TRIES:-5}
CLIENTS=${CLIENTS:-16}
DRAIN_S=10
start_daemon
: >"$DIR/acked"
exit0=0 aborts=0 others=0 max_ms=0 slow=0 acked=0
for t in $(seq "$TRIES"); do
	[ -n "$DPID" ] || daemon_up || die "try $t" "waybilld did not come back"
	rm -f "$DIR/acked.$t.go"
	python3 "$E2E_DIR/drain_load.py" post "$PORT" "${TOK[c1]}" "$FIXTURES" "$CLIENTS" \
		"$DIR/acked.$t" >"$DIR/load.$t" 2>&1 &
	LPID=$!
	for _ in $(seq 300); do [ -e "$DIR/acked.$t.go" ] && break; sleep 0.1; done
	[ -e "$DIR/acked.$t.go" ] || fail "try $t: every client got a 201" "$(cat "$DIR/load.$t")"
	sleep 0.$((RANDOM % 5 + 1))
	t0=$(date +%s%N)
	kill -TERM "$DPID"
	for _ in $(seq $(((DRAIN_S + 5) * 20))); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
	ms=$((($(date +%s%N) - t0) / 1000000))
	if kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID"
		others=$((others + 1))
	fi
	wait "$DPID"
	rc=$?
	DPID=
	case $rc in
	0) exit0=$((exit0 + 1)) ;;
	134) aborts=$((aborts + 1)) ;;
	*) others=$((others + 1)) ;;
	esac
	[ "$ms" -gt "$max_ms" ] && max_ms=$ms
	[ "$ms" -gt $((DRAIN_S * 1000)) ] && slow=$((slow + 1))
	wait "$LPID"
	cat "$DIR/acked.$t" >>"$DIR/acked"
	echo "try $t: exit $rc after ${ms} ms; $(cat "$DIR/load.$t")"
done
acked=$(wc -l <"$DIR/acked")
daemon_up || die restart "waybilld did not come back"
read_line=$(python3 "$E2E_DIR/drain_load.py" check "$PORT" "${TOK[c1]}" "$DIR/acked" 2>"$DIR/missing")
missing=${read_line##*missing=}
echo "sigterm: tries=$TRIES clients=$CLIENTS exit0=$exit0 sigabrt=$aborts other=$others" \
	"max_stop_ms=$max_ms over_drain_s=$slow acked=$acked missing=${missing:-?}"
if [ "$exit0" = "$TRIES" ]; then ok "sigterm under load: exit 0 in $TRIES of $TRIES tries"; else
	fail "sigterm under load: exit 0 in $TRIES of $TRIES tries" \
		"exit 0 $exit0, SIGABRT $aborts, other $others; $(grep -m1 -i 'suspended\|abort' "$DIR/log")"
fi
if [ "$slow" = 0 ]; then ok "sigterm under load: every stop within drain_s ($max_ms ms at most)"; else
	fail "sigterm under load: every stop within drain_s" "$slow stops took longer (max $max_ms ms)"
fi
if [ "$acked" -gt 0 ] && [ "${missing:-x}" = 0 ]; then ok "every acked order ($acked) readable after the stops"; else
	fail "every acked order readable after the stops" "acked $acked, $read_line; $(head -n 3 "$DIR/missing")"
fi
stop_daemon
finish
