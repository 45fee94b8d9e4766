#!/bin/sh
# 95-service: what an operator's tools see of the daemon.  `waybilld
# --version` and the waybill_build_info metric name the same build (the
# commit checked out here); the daemon tells a Type=notify service manager
# READY=1 once it serves and STOPPING=1 when it drains (a python3 datagram
# socket stands in for systemd); deploy/waybilld.service scores 2.0 or less
# in `systemd-analyze security`, and every system call the daemon makes in
# a working session is one its SystemCallFilter allows; the Containerfile
# and .containerignore keep what they must.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

# ---- version ------------------------------------------------------------------

ver=$("$WBD" --version)
check "waybilld --version exits 0" test $? = 0
want_commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if printf '%s\n' "$ver" | grep -Eq '^waybilld [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{12}(-dirty)?\)$'; then
	ok "waybilld --version: \"$ver\""
else
	fail "waybilld --version" "got \"$ver\""
fi
VERSION=$(printf '%s' "$ver" | awk '{ print $2 }')
COMMIT=$(printf '%s' "$ver" | sed 's/.*(commit \(.*\))$/\1/')
check "--version names the commit checked out ($want_commit)" test "${COMMIT%-dirty}" = "$want_commit"
check "--version matches the Makefile's VERSION" \
	test "$(sed -n 's/^VERSION := //p' "$ROOT/Makefile")" = "$VERSION"
check "--version wins over a bad option, and needs no config" \
	test "$("$WBD" --no-such-option 1 --version 2>&1)" = "$ver"
"$WBD" --help | grep -q '^       waybilld --version$'
check "--help mentions --version" test $? = 0

start_daemon
curl -s "$URL/metrics" >"$DIR/metrics"
n=$(grep -c '^waybill_build_info{' "$DIR/metrics")
check "metrics: one waybill_build_info line ($n)" test "$n" = 1
check "metrics: waybill_build_info names this build" \
	grep -qxF "waybill_build_info{version=\"$VERSION\",commit=\"$COMMIT\"} 1" "$DIR/metrics"
check "log: the start names the build" grep -qF "waybilld $VERSION (commit $COMMIT)" "$DIR/log"
stop_daemon

finish
