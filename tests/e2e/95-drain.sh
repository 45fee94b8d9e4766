#!/bin/sh
# 95-drain: SIGTERM under 16 keep-alive clients posting orders ends in exit 0
# within drain_s, try after try, and every order a client got 201 for is
# readable after the restart.  (Before the drain was fixed, libmicrohttpd
# aborted: "MHD_stop_daemon() called while we have suspended connections".)
# TRIES (default 5) tries; tests/torture/sigterm.sh runs 100 and prints the figures.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

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

# Clients that post and leave before their answer: libmicrohttpd closes such a
# connection without calling the handler again, and each was still counted as
# waiting on the writer, so the stop that followed gave up ("N requests still
# wait on the writer after drain_s") and exited 1.
daemon_up || die "drop: start" "waybilld did not come back"
python3 - "$PORT" "${TOK[c1]}" "$FIXTURES" <<'PY'
import json, socket, struct, sys
port, tok, fixtures = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lines = open(fixtures).read().splitlines()
for rnd in range(4):
    socks = []
    for i in range(200):
        o = json.loads(lines[i % len(lines)])
        o["client_order_id"] = "drop-%d-%d" % (rnd, i)
        b = json.dumps(o).encode()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + tok.encode()
                  + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
        socks.append(s)
    for s in socks:  # a reset, not a polite close: gone at once
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
PY
dropped=$(grep -c 'route=/v1/orders.*aborted=true' "$DIR/log")
stop_daemon "clients gone before their answers ($dropped aborted): sigterm exits 0"
check "clients gone before their answers: no request left counted as waiting" \
	test "$(grep -c 'still wait on the writer' "$DIR/log")" = 0

# Stops right after an answer, over TLS: libmicrohttpd's quiesce raced its own
# epoll workers and aborted ("Failed to remove listen FD from epoll set") in
# about 1 of 20 such stops under strace; the daemon now accepts on its own
# socket and closes it for the drain.  TLS_STOPS (default 20) tries.
TLS_STOPS=${TLS_STOPS:-20}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
tls_ok=0 tls_bad=
for t in $(seq "$TLS_STOPS"); do
	PORT=$(pick_port)
	env "${DAEMON_ENV[@]}" "$WBD" --db "${DAEMON_DB:-$DB}" --key-file "$DIR/key" \
		--listen "127.0.0.1:$PORT" "${DAEMON_FLAGS[@]}" --tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key" 2>>"$DIR/log" &
	DPID=$!
	wait_until 20 curl -sk -o /dev/null "https://127.0.0.1:$PORT/healthz"
	code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOK[c1]}" \
		"https://127.0.0.1:$PORT/v1/orders?limit=1")
	kill -TERM "$DPID"
	wait "$DPID"
	rc=$?
	DPID=
	if [ "$rc" = 0 ] && [ "$code" = 200 ]; then tls_ok=$((tls_ok + 1)); else tls_bad="$tls_bad try $t: answer $code, exit $rc;"; fi
done
check "stops over TLS right after an answer: exit 0 in $TLS_STOPS of $TLS_STOPS${tls_bad:+ ($tls_bad $(grep -m1 'Fatal error' "$DIR/log"))}" \
	test "$tls_ok" = "$TLS_STOPS"
finish
