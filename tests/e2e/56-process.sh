#!/bin/sh
# 56-process: neither waybilld nor waybillctl can leave a core file.  A core
# of the daemon holds every order it opened (names, phones, addresses) and
# the keys; one of waybillctl holds the root key.  Both set RLIMIT_CORE to 0
# and PR_SET_DUMPABLE to 0 first thing, so even "ulimit -c unlimited" and a
# SIGABRT leave nothing behind, and another process of the same user cannot
# read the daemon through /proc.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon

# /proc/PID/limits: "Max core file size  SOFT  HARD  bytes".
core_limit() {
	awk '/^Max core file size/ { print $5, $6 }' "/proc/$1/limits" 2>/dev/null
}
lim=$(core_limit "$DPID")
check "waybilld runs with a core size limit of 0 (soft and hard): got '$lim'" test "$lim" = "0 0"
stop_daemon

# Where a core would go: core_pattern is a file name (relative to the cwd,
# or absolute), or "|handler" (a pipe: the kernel hands the dump to it).
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
mkdir -p "$DIR/cwd"
case $pattern in
'|'*) coredir= ;;
/*) coredir=$(dirname "$pattern") ;;
*) coredir=$DIR/cwd ;;
esac
before=$( [ -n "$coredir" ] && ls -A "$coredir" 2>/dev/null | sort)

# A daemon started by someone who asked for cores, killed by SIGABRT.  The
# kernel's own word on it is WCOREDUMP in the wait status (set whether the
# core went to a file or to a pipe handler); python3 reads it for us.
# abort_daemon: start it with an unlimited core limit in $DIR/cwd, SIGABRT
# it, print "up= limits= signal= coredump=".
abort_daemon() {
python3 - "$WBD" "$DIR" "$(pick_port)" "$ROOT/templates" "$DB" 2>>"$DIR/log" <<'PY'
import os, resource, signal, sys, time, urllib.request
wbd, d, port, templates, db = sys.argv[1:6]
pid = os.fork()
if pid == 0:
    os.chdir(d + "/cwd")
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    fd = os.open(d + "/log", os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 2)
    os.execv(wbd, [wbd, "--db", db, "--key-file", d + "/key", "--listen",
                   "127.0.0.1:" + port, "--templates", templates])
up, limits = False, ""
try:
    for _ in range(200):
        try:
            urllib.request.urlopen("http://127.0.0.1:%s/healthz" % port, timeout=1)
            up = True
            break
        except Exception:
            time.sleep(0.05)
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                limits = ",".join(line.split()[4:6])
finally:
    os.kill(pid, signal.SIGABRT)
    _, status = os.waitpid(pid, 0)
print("up=%d limits=%s signal=%d coredump=%d" % (up, limits,
      os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0, os.WCOREDUMP(status)))
PY
}
abort_daemon >"$DIR/abort.out"
read -r up lim sig dumped <"$DIR/abort.out"
check "waybilld under ulimit -c unlimited is up ($up)" test "$up" = up=1
check "ulimit -c unlimited does not reach waybilld ($lim)" test "$lim" = limits=0,0
check "SIGABRT ends waybilld ($sig)" test "$sig" = signal=6
check "the kernel dumped no core of it ($dumped)" test "$dumped" = coredump=0
sleep 0.5
if [ -n "$coredir" ]; then
	after=$(ls -A "$coredir" 2>/dev/null | sort)
	new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$')
	check "SIGABRT leaves no core file in $coredir (new: '$new')" test -z "$new"
else
	echo "note: core_pattern pipes to a handler ($pattern): no file to look for"
fi

# Not dumpable also means that another process of the same (non-root) user
# cannot read its memory or environment through /proc, nor ptrace it.  As
# root, run a daemon as nobody and look at it as nobody.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	mkdir -p "$DIR/nb"
	cp "$DIR/key" "$DIR/nb/"
	NBDB=$DIR/nb/db
	if is_pg; then NBDB=$DB; else cp "$DIR/db" "$DIR/nb/"; fi
	chown -R 65534:65534 "$DIR/nb"
	chmod 711 "$DIR"
	NPORT=$(pick_port)
	# setpriv execs waybilld: $! is the daemon itself (no function, no subshell).
	setpriv --reuid=65534 --regid=65534 --clear-groups "$WBD" --db "$NBDB" \
		--key-file "$DIR/nb/key" --listen "127.0.0.1:$NPORT" --templates "$ROOT/templates" \
		--audit-checkpoints "$DIR/nb/audit.checkpoints" 2>>"$DIR/log" &
	NPID=$!
	for _ in $(seq 200); do
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$NPORT/healthz" && break
		kill -0 "$NPID" 2>/dev/null || break
		sleep 0.05
	done
	check "waybilld runs as nobody" test "$(ps -o user= -p "$NPID" | tr -d ' ')" = nobody
	# A daemon that is not there has no /proc entry to refuse: the checks below mean nothing.
	kill -0 "$NPID" 2>/dev/null || die nobody "the daemon run as nobody is not running"
	if as_nobody head -c 1 "/proc/$NPID/environ" >/dev/null 2>"$DIR/nb.err"; then
		fail "another process of its user cannot read its /proc/PID/environ" "it could"
	else
		ok "another process of its user cannot read its /proc/PID/environ ($(head -c 80 "$DIR/nb.err"))"
	fi
	if as_nobody python3 -c 'import sys; open("/proc/%s/mem" % sys.argv[1], "rb")' "$NPID" 2>/dev/null; then
		fail "another process of its user cannot open its /proc/PID/mem" "it could"
	else
		ok "another process of its user cannot open its /proc/PID/mem (Yama may refuse this anyway)"
	fi
	kill -TERM "$NPID"
	wait "$NPID"
	check "the daemon run as nobody exits 0 on SIGTERM" test "$?" = 0
else
	echo "note: not root or no setpriv: the same-user /proc check is skipped"
fi

# waybillctl: opening the key file (a FIFO nobody writes to) holds it long
# enough to read its limits.
mkfifo -m 600 "$DIR/key.fifo"
(
	ulimit -c unlimited || exit 1
	exec "$WBCTL" --db "$DB" --key-file "$DIR/key.fifo" account list >/dev/null 2>&1
) &
CPID=$!
for _ in $(seq 100); do
	[ "$(readlink "/proc/$CPID/exe" 2>/dev/null)" = "$(readlink -f "$WBCTL")" ] && break
	sleep 0.02
done
sleep 0.2
lim=$(core_limit "$CPID")
check "waybillctl runs with a core size limit of 0 under ulimit -c unlimited: got '$lim'" \
	test "$lim" = "0 0"
kill -KILL "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null

finish
