# tests/torture/lib.sh - sourced by the fault scripts (kill9.sh, enospc.sh, eio.sh); it
# sources tests/e2e/lib.sh first, whose harness (ok, fail, check, finish, pick_port,
# add_account, daemon_up) they use.
#
# Every script prints its figures as "figure: NAME VALUE" lines and ends with its own
# "N passed, N failed" line; tests/torture/run.sh gathers both.
#
#   t_setup               fresh $DIR (removed at exit, KEEP=1 keeps it), key, four couriers
#                         in two depots ($DIR/tokens), database $DB ($DIR/torture.db, or
#                         wherever $T_SETUP_HOOK, run first, puts it)
#   t_up                  start waybilld on $DB, on a free port written to $DIR/url;
#                         DAEMON_ENV=(VAR=value ...) goes into its environment
#                         (tests/e2e/lib.sh's daemon_up, given 30 s)
#   t_kill9               SIGKILL the daemon and reap it
#   t_writers_start OUT   16 writers (THREADS) in the background, answers in OUT/
#   t_writers_stop OUT    tell them to stop, wait, summary in OUT/write.out
#   t_wait_code OUT CODE N SECS  until the writers saw N answers CODE (or SECS passed)
#   t_clients CMD OUT     clients.py CMD (retry, readback) on OUT, summary in OUT/CMD.out
#   val FILE NAME         the value of "NAME VALUE" in FILE (0 when absent)
#   t_verify NAME         waybillctl audit verify exits 0          (counts VERIFY_FAILS)
#   t_integrity NAME      PRAGMA integrity_check answers "ok"      (counts INTEGRITY_FAILS)
#   t_shim                the LD_PRELOAD shim in $SHIM: EIO_SHIM or $BUILD/torture/eio_shim.so
#                         (make torture builds it), else compiled into $DIR
#   figure NAME VALUE

TORTURE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$TORTURE_DIR/../e2e/lib.sh"
CLIENTS=$TORTURE_DIR/clients.py
DB=
VERIFY_FAILS=0
INTEGRITY_FAILS=0
WRITERS_PID=

figure() {
	echo "figure: $1 $2"
}

ctl() {
	"$WBCTL" --db "$DB" --key-file "$DIR/key" "$@"
}

t_setup() {
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-torture.XXXXXX") || die setup "mktemp failed"
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
	DB=$DIR/torture.db
	[ -n "$T_SETUP_HOOK" ] && { $T_SETUP_HOOK || die setup "$T_SETUP_HOOK failed"; }
	export WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints
	[ -x "$WBD" ] && [ -x "$WBCTL" ] || die setup "no $WBD or $WBCTL: run make"
	"$WBCTL" keygen --out "$DIR/key" 2>/dev/null || die setup "keygen failed"
	: >"$DIR/tokens"
	local a
	for a in "w1 courier d1" "w2 courier d1" "w3 courier d2" "w4 courier d2" "aud1 auditor"; do
		# shellcheck disable=SC2086
		add_account $a || die setup "account add $a failed"
		set -- $a
		[ "$2" = courier ] && echo "$1 ${TOK[$1]}" >>"$DIR/tokens"
	done
}

# Hooks the scripts may set: after mktemp (a mount, say), before the directory goes.
T_SETUP_HOOK=
T_CLEANUP_HOOK=
t_cleanup() {
	local rc=$?
	if [ -n "$WRITERS_PID" ] && kill -0 "$WRITERS_PID" 2>/dev/null; then
		kill "$WRITERS_PID" 2>/dev/null
		wait "$WRITERS_PID" 2>/dev/null
	fi
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	DPID=
	[ -n "$T_CLEANUP_HOOK" ] && $T_CLEANUP_HOOK
	# cleanup (tests/e2e/lib.sh) removes $DIR unless KEEP=1, and exits with rc.
	(exit "$rc")
	cleanup
}

t_shim() {
	SHIM=${EIO_SHIM:-$ROOT/${BUILD:-build}/torture/eio_shim.so}
	[ -f "$SHIM" ] && return 0
	SHIM=$DIR/eio_shim.so
	cc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -o "$SHIM" "$TORTURE_DIR/eio_shim.c" -ldl
}

t_up() {
	DAEMON_DB=$DB DAEMON_WAIT_S=30 daemon_up || return 1
	echo "$URL" >"$DIR/url.tmp" && mv "$DIR/url.tmp" "$DIR/url"
}

t_kill9() {
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

t_writers_start() {
	local out=$1
	mkdir -p "$out"
	rm -f "$out/stop"
	THREADS=${THREADS:-16} PREFIX=${PREFIX:-$(basename "$out")} \
		python3 "$CLIENTS" write "$out" "$DIR/tokens" "$DIR/url" >"$out/write.out" 2>"$out/write.err" &
	WRITERS_PID=$!
}

t_writers_stop() {
	local out=$1
	touch "$out/stop"
	wait "$WRITERS_PID"
	WRITERS_PID=
	rm -f "$out/stop"
}

val() {
	local v
	v=$(awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null | tail -n 1)
	echo "${v:-0}"
}

# t_wait_code OUT CODE N SECS: 0 when the writers saw N answers CODE within SECS.
t_wait_code() {
	local out=$1 code=$2 n=$3 secs=$4 i
	for i in $(seq $((secs * 10))); do
		[ "$(val "$out/live" "$code")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

t_clients() {
	local cmd=$1 out=$2
	THREADS=8 python3 "$CLIENTS" "$cmd" "$out" "$DIR/tokens" "$DIR/url" >"$out/$cmd.out" 2>"$out/$cmd.err"
}

t_verify() {
	if ctl audit verify >"$DIR/verify.out" 2>&1; then
		ok "$1"
	else
		VERIFY_FAILS=$((VERIFY_FAILS + 1))
		fail "$1" "$(tail -n 2 "$DIR/verify.out" | tr '\n' '|')"
	fi
}

t_integrity() {
	local got
	got=$(sqlite3 "file:$DB?mode=ro" 'PRAGMA integrity_check' 2>&1 | head -n 3 | tr '\n' '|')
	if [ "$got" = "ok|" ]; then
		ok "$1"
	else
		INTEGRITY_FAILS=$((INTEGRITY_FAILS + 1))
		fail "$1" "integrity_check: $got"
	fi
}
