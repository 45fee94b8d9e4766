#!/bin/sh
# tests/torture/slowconn.sh [CONNS [ADDRS [PROBES]]] - the issue 13 figure: CONNS
# (5000) slow connections from ADDRS (20) addresses 127.0.0.2.., each trickling a
# request head a byte a second and reopened when cut, against a daemon with the
# default limits, while a probe on 127.0.0.1 makes PROBES (100) GET /healthz and
# PROBES POST /v1/orders, each on a new connection.  Prints
#   slowconn: conns=N addrs=N held=N probe_answered=A/T healthz_ok=N orders_201=N
#             p50_ms= p99_ms= max_ms=
# A measurement, not a test of speed: it ends "N passed, N failed" on whether the
# probe got every answer.  BIN=... measures another build.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/../e2e/lib.sh"

CONNS=${1:-5000}
ADDRS=${2:-20}
PROBES=${3:-100}
start_daemon
out=$(python3 "$ROOT/tests/torture/slowconn.py" flood "$PORT" "$ADDRS" "$CONNS" 120 "$PROBES" \
	"${TOK[c1]}" "$FIXTURES")
echo "slowconn: conns=$CONNS addrs=$ADDRS $out"
case $out in
*"probe_answered=$((PROBES * 2))/$((PROBES * 2))"*) ok "the probe got every answer" ;;
*) fail "the probe got every answer" "$out" ;;
esac
stop_daemon
finish
