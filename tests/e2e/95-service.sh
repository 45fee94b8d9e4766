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
check "--version names the commit checked out ($want_commit; after a commit, make rebuilds it)" \
	test "${COMMIT%-dirty}" = "$want_commit"
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

# ---- sd_notify ----------------------------------------------------------------

# A stand-in for systemd: a datagram socket that writes down each message and,
# on READY=1, whether /healthz answers at that very moment.
cat >"$DIR/notify.py" <<'PY'
import os, socket, sys, urllib.request
path, port, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.split("\n"):
            f.write(line + "\n")
        if "READY=1" in msg.split("\n"):
            try:
                code = urllib.request.urlopen("http://127.0.0.1:%s/healthz" % port, timeout=20).status
            except Exception as e:
                code = "error (%s)" % e
            f.write("HEALTHZ_AT_READY=%s\n" % code)
        if "STOPPING=1" in msg.split("\n"):
            break
PY
PORT=$(pick_port)
URL=http://127.0.0.1:$PORT
python3 "$DIR/notify.py" "$DIR/notify.sock" "$PORT" "$DIR/notify.log" &
NLPID=$!
trap 'rc=$?; kill "$NLPID" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_until 10 grep -q LISTENING "$DIR/notify.log" 2>/dev/null
NOTIFY_SOCKET=$DIR/notify.sock "$WBD" --db "$DB" --key-file "$DIR/key" \
	--listen "127.0.0.1:$PORT" 2>>"$DIR/log" &
DPID=$!
wait_until 20 grep -q '^READY=1$' "$DIR/notify.log"
check "sd_notify: READY=1 reaches \$NOTIFY_SOCKET" grep -qx 'READY=1' "$DIR/notify.log"
check "sd_notify: /healthz answers 200 the moment READY=1 arrives" grep -qx 'HEALTHZ_AT_READY=200' "$DIR/notify.log"
check "sd_notify: no STOPPING=1 while serving" test "$(grep -c '^STOPPING=1$' "$DIR/notify.log")" = 0
stop_daemon "sd_notify: sigterm exits 0"
wait_until 10 grep -q '^STOPPING=1$' "$DIR/notify.log"
check "sd_notify: STOPPING=1 at the stop" grep -qx 'STOPPING=1' "$DIR/notify.log"
check "sd_notify: READY=1 came once, before STOPPING=1" \
	test "$(grep -E '^(READY|STOPPING)=1$' "$DIR/notify.log" | tr '\n' ' ')" = "READY=1 STOPPING=1 "
wait "$NLPID" 2>/dev/null

# A NOTIFY_SOCKET nobody listens on: a warning, and the daemon serves anyway.
NOTIFY_SOCKET=$DIR/nobody.sock daemon_up || fail "a dead NOTIFY_SOCKET" "waybilld did not start"
check "a dead NOTIFY_SOCKET: the daemon serves" curl -fs -o /dev/null "$URL/healthz"
check "a dead NOTIFY_SOCKET: one warning in the log" grep -qF 'notify: cannot tell the service manager \"READY=1' "$DIR/log"
stop_daemon "a dead NOTIFY_SOCKET: sigterm exits 0"

# ---- the systemd unit ---------------------------------------------------------

UNIT=${UNIT:-$ROOT/deploy/waybilld.service} # UNIT=FILE tests another file
command -v systemd-analyze >/dev/null || die systemd-analyze "not installed (Makefile DEB_TEST: systemd)"
systemd-analyze security --offline=true "$UNIT" >"$DIR/security.txt" 2>&1
score=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$DIR/security.txt")
if systemd-analyze security --offline=true --threshold=20 "$UNIT" >/dev/null 2>&1 && [ -n "$score" ]; then
	ok "systemd-analyze security: $score, at most 2.0"
else
	fail "systemd-analyze security" "exposure ${score:-?} over 2.0: $(grep '✗' "$DIR/security.txt" | awk '{ print $2 }' | tr '\n' ' ')"
fi
# `verify` wants ExecStart to exist: the same unit, started from bin/.
sed "s|^ExecStart=/usr/local/bin/waybilld |ExecStart=$WBD |" "$UNIT" >"$DIR/waybilld.service"
out=$(systemd-analyze verify "$DIR/waybilld.service" 2>&1)
check "systemd-analyze verify: no complaint${out:+ ($out)}" test -z "$out"
for want in Type=notify LimitCORE=0 StateDirectory=waybill NoNewPrivileges=yes \
	ProtectSystem=strict UMask=0077 MemoryDenyWriteExecute=yes; do
	check "unit: $want" grep -qx "$want" "$UNIT"
done

# The daemon under strace, through a session that touches every route, a
# SIGHUP, a purge and a stop: its system calls against the unit's
# SystemCallFilter, its sockets against RestrictAddressFamilies, its
# mappings against MemoryDenyWriteExecute, the files it writes against
# ProtectSystem=strict with only the state directory (the database's
# directory) and the logs directory (the audit checkpoints) writable.
command -v strace >/dev/null || die strace "not installed (Makefile DEB_TEST: strace)"
PORT=$(pick_port)
URL=http://127.0.0.1:$PORT
# As an unprivileged user, like the unit's User= (as root, SQLite would
# fchown its -wal and -shm files to the database's owner).
RUNAS=nobody
# A sanitizer build (make sanitize): LeakSanitizer cannot run under ptrace and
# exits 1 at the end, so leak checks are off for the daemons from here on.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
mkdir -p "$DIR/state" "$DIR/logs"
# The database: SQLite's file in the state directory; PostgreSQL's is the
# server's (the daemon reaches it over its Unix socket, a family the unit allows).
SDB=$DIR/state/waybill.db
if is_pg; then SDB=$DB; else cp "$DIR/db" "$SDB"; fi
cp "$DIR/key" "$DIR/state.key"
chown -R "$RUNAS" "$DIR/state" "$DIR/logs" "$DIR/state.key"
chmod 700 "$DIR/state" "$DIR/logs"
chmod 711 "$DIR"
rm -f "$DIR/notify.sock"
python3 "$DIR/notify.py" "$DIR/notify.sock" "$PORT" "$DIR/notify2.log" &
NLPID=$!
wait_until 10 grep -q LISTENING "$DIR/notify2.log" 2>/dev/null
wait_until 10 test -S "$DIR/notify.sock"
chown "$RUNAS" "$DIR/notify.sock"
NOTIFY_SOCKET=$DIR/notify.sock strace -f -qq -u "$RUNAS" -o "$DIR/trace" "$WBD" --db "$SDB" \
	--key-file "$DIR/state.key" --audit-checkpoints "$DIR/logs/audit.checkpoints" \
	--listen "127.0.0.1:$PORT" --retention-days 0 --purge-interval-s 1 \
	--vnum-grace-hours 0 --templates "$ROOT/templates" 2>>"$DIR/log" &
SPID=$!
wait_until 60 grep -q '^READY=1$' "$DIR/notify2.log" || die "strace: daemon start" "$(tail -n 3 "$DIR/log" | tr '\n' '|')"
DPID=$(pgrep -P "$SPID" | head -n 1)
post_fixtures "${TOK[c1]}" "$DIR/smap" 0 1 2 3
TN=$(tn_of "$DIR/smap" 0)
api GET "/v1/orders/$TN" "${TOK[c1]}"
expect_status "strace session: order view" 200 "$STATUS"
api GET "/v1/orders?limit=10" "${TOK[dep1]}"
expect_status "strace session: list" 200 "$STATUS"
api POST "/v1/orders/$TN/assign" "${TOK[dep1]}" -d '{"courier":"c2"}'
expect_status "strace session: assign" 200 "$STATUS"
get_pdf "${TOK[dep1]}" "/v1/orders/$TN/label.pdf" "$DIR/s1.pdf"
expect_status "strace session: label" 200 "$STATUS"
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"$TN\",\"$(tn_of "$DIR/smap" 1)\"],\"size\":\"76x130\"}" "$DIR/s2.pdf"
expect_status "strace session: batch labels" 200 "$STATUS"
set_status "${TOK[c2]}" "$TN" picked_up in_transit out_for_delivery
expect_status "strace session: status" 200 "$STATUS"
api GET "/v1/orders/$TN/delivery" "${TOK[c2]}"
expect_status "strace session: delivery view" 200 "$STATUS"
api POST /v1/calls/route "${TOK[tel1]}" -d "{\"caller\":\"${PHONE[c2]}\",\"called\":\"$(jb .virtual_number)\",\"extension\":\"$(jb .extension)\"}"
expect_status "strace session: call route" 200 "$STATUS"
api GET "/v1/admin/orders/$TN?reason=ticket%20CS-1" "${TOK[adm1]}"
expect_status "strace session: admin reveal" 200 "$STATUS"
set_status "${TOK[c2]}" "$TN" delivered
api GET /v1/audit/verify "${TOK[aud1]}"
expect_status "strace session: audit verify" 200 "$STATUS"
api GET "/v1/audit?limit=5" "${TOK[aud1]}"
curl -s -o /dev/null "$URL/metrics"
api GET "/v1/orders/WB0000000000000000000" "${TOK[c1]}"
kill -HUP "$DPID"
wait_until 20 grep -q 'SIGHUP: key file re-read' "$DIR/log"
wait_until 20 sh -c "'$WBCTL' --db '$SDB' --key-file '$DIR/state.key' audit export | grep -q '\"action\":\"retention.purge\"'"
api GET "/v1/admin/orders/$TN?reason=ticket%20CS-2" "${TOK[adm1]}"
expect_status "strace session: the purge ran (410)" 410 "$STATUS"
kill -TERM "$DPID"
wait "$SPID"
rc=$?
DPID=
check "strace session: the daemon exits 0 ($rc)" test "$rc" = 0
wait "$NLPID" 2>/dev/null
check "strace session: READY=1 and STOPPING=1" \
	test "$(grep -E '^(READY|STOPPING)=1$' "$DIR/notify2.log" | tr '\n' ' ')" = "READY=1 STOPPING=1 "

# And once more serving HTTPS (GnuTLS reads its configuration, its keys).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
chown "$RUNAS" "$DIR/tls.key" "$DIR/tls.crt"
chmod 600 "$DIR/tls.key"
PORT=$(pick_port)
strace -f -qq -u "$RUNAS" -o "$DIR/trace-tls" "$WBD" --db "$SDB" \
	--key-file "$DIR/state.key" --audit-checkpoints "$DIR/logs/audit.checkpoints" \
	--listen "127.0.0.1:$PORT" --templates "$ROOT/templates" \
	--tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key" 2>>"$DIR/log" &
SPID=$!
wait_until 60 curl -sk -o /dev/null "https://127.0.0.1:$PORT/healthz"
DPID=$(pgrep -P "$SPID" | head -n 1)
code=$(curl -sk -o "$BODY" -w '%{http_code}' -H "Authorization: Bearer ${TOK[c1]}" \
	"https://127.0.0.1:$PORT/v1/orders/$(tn_of "$DIR/smap" 1)")
expect_status "strace session over TLS: order view" 200 "$code"
kill -TERM "$DPID"
wait "$SPID"
rc=$?
DPID=
check "strace session over TLS: the daemon exits 0 ($rc)" test "$rc" = 0
# This stop once aborted in about 1 of 20 tries (libmicrohttpd's quiesce racing its
# epoll workers, now gone: http_accept.c).  Should it fail again, tests/run.sh shows
# these lines with the failure.
[ "$rc" = 0 ] || {
	grep -v ' level=info ' "$DIR/log" | tail -n 5
	grep -E 'SIGABRT|tgkill|write\(2,' "$DIR/trace-tls" | tail -n 5
} | sed 's/^/daemon log: /'
cat "$DIR/trace-tls" >>"$DIR/trace"

systemd-analyze syscall-filter >"$DIR/filters.txt" 2>/dev/null
python3 - "$UNIT" "$DIR/filters.txt" "$DIR/trace" "$DIR/state/:$DIR/logs/" >"$DIR/trace-report.txt" <<'PY'
import re, sys
unit, filters, trace, state = sys.argv[1:5]
groups, cur = {}, None
for raw in open(filters):
    if not raw.strip() or raw.strip().startswith("#"):
        continue
    if not raw.startswith(" "):
        cur = raw.strip()
        groups[cur] = []
    else:
        groups[cur].append(raw.strip())
def expand(names, seen=()):
    out = set()
    for n in names:
        if n.startswith("@"):
            if n in seen:
                continue
            out |= expand(groups.get(n, []), seen + (n,))
        else:
            out.add(n)
    return out
allow, deny, props = set(), set(), {}
for line in open(unit):
    line = line.strip()
    m = re.match(r"SystemCallFilter=(~?)(.*)", line)
    if m:
        (deny if m.group(1) else allow).update(expand(m.group(2).split()))
    elif "=" in line and not line.startswith("#"):
        k, v = line.split("=", 1)
        props[k] = v
allowed = allow - deny
used, bad = set(), []
for line in open(trace):
    m = re.match(r"\d+\s+(\w+)\(", line)
    if not m:
        continue
    name = m.group(1)
    used.add(name)
    if name in ("socket", "socketpair"):
        fam = re.match(r"\d+\s+\w+\((\w+)", line).group(1)
        want = props.get("RestrictAddressFamilies", "").split()
        if fam not in want:
            bad.append("address family %s not in RestrictAddressFamilies: %s" % (fam, line.strip()))
    if props.get("MemoryDenyWriteExecute") == "yes" and name in ("mmap", "mprotect", "pkey_mprotect"):
        if "PROT_EXEC" in line and ("PROT_WRITE" in line or name != "mmap") and "= -1" not in line:
            bad.append("W^X: " + line.strip())
    if name in ("open", "openat", "creat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "truncate"):
        paths = re.findall(r'"([^"]*)"', line)
        writes = name not in ("open", "openat") or re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", line)
        if writes and paths and "= -1" not in line:
            for p in paths[:1]:
                if not any(p.startswith(d) for d in state.split(":")):
                    bad.append("writes outside the state and logs directories: " + line.strip())
        for p in paths[:1]:
            # glibc's malloc asks overcommit_memory before shrinking a heap;
            # unreadable, it does not shrink it: harmless.
            if p == "/proc/sys/vm/overcommit_memory":
                continue
            if p.startswith("/proc/") and not re.match(r"/proc/(self|thread-self|\d+)/", p):
                bad.append("reads /proc beyond ProcSubset=pid: " + line.strip())
for n in sorted(used - allowed):
    bad.append("system call %s is not allowed by SystemCallFilter" % n)
print("used %d system calls, %d allowed by the unit" % (len(used), len(allowed)))
for b in bad:
    print("BAD " + b)
PY
check "strace: the trace was read ($(head -n 1 "$DIR/trace-report.txt"))" grep -q '^used [1-9]' "$DIR/trace-report.txt"
nbad=$(grep -c '^BAD ' "$DIR/trace-report.txt")
if [ "$nbad" = 0 ]; then
	ok "strace: every system call, socket, mapping and written file fits the unit"
else
	fail "strace: $nbad calls the unit would refuse" "$(grep '^BAD ' "$DIR/trace-report.txt" | sort -u | head -n 8 | tr '\n' '|')"
fi

# ---- the Containerfile --------------------------------------------------------

CF=$ROOT/deploy/Containerfile
for v in /var/lib/waybill /var/log/waybill; do
	check "Containerfile: VOLUME $v" grep -qE "^VOLUME \\[.*\"$v\"" "$CF"
done
check "Containerfile: a HEALTHCHECK on /healthz" grep -qE '^HEALTHCHECK .*' "$CF"
check "Containerfile: ... that asks /healthz" sh -c "sed -n '/^HEALTHCHECK/,/[^\\\\]\$/p' '$CF' | grep -q 'http://127.0.0.1:8080/healthz'"
check "Containerfile: runs as an unprivileged user" grep -qx 'USER waybill' "$CF"
# The build stage installs exactly the Makefile's DEB_BUILD; the runtime
# stage a package for every library the binaries link (but libc).
python3 - "$ROOT/Makefile" "$CF" >"$DIR/cf.txt" <<'PY'
import re, sys
mk = open(sys.argv[1]).read().replace("\\\n", " ")
cf = open(sys.argv[2]).read().replace("\\\n", " ")
deb = set(re.search(r"^DEB_BUILD\s*:=(.*)$", mk, re.M).group(1).split())
stages = re.split(r"^FROM ", cf, flags=re.M)[1:]
def pkgs(stage):
    m = re.search(r"apt-get install -y --no-install-recommends ([^&]*)&&", stage)
    return set(m.group(1).split()) if m else set()
build, run = pkgs(stages[0]), pkgs(stages[1])
print("build-only-in-Makefile:", " ".join(sorted(deb - build)))
print("build-only-in-Containerfile:", " ".join(sorted(build - deb)))
print("runtime:", " ".join(sorted(run)))
PY
check "Containerfile: the build stage has every DEB_BUILD package ($(sed -n 's/^build-only-in-Makefile: *//p' "$DIR/cf.txt"))" \
	grep -qx 'build-only-in-Makefile: *' "$DIR/cf.txt"
check "Containerfile: ... and no other ($(sed -n 's/^build-only-in-Containerfile: *//p' "$DIR/cf.txt"))" \
	grep -qx 'build-only-in-Containerfile: *' "$DIR/cf.txt"
runtime=" $(sed -n 's/^runtime: //p' "$DIR/cf.txt") "
missing=
for b in "$WBD" "$WBCTL"; do
	while read -r lib path; do
		pk=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null)
		pk=${pk%%:*}
		[ "$pk" = libc6 ] && continue
		# make sanitize links the compiler's sanitizer runtimes: no image ships those.
		case $pk in libasan* | libubsan*) continue ;; esac
		case $runtime in *" $pk "*) ;; *) missing="$missing $lib(${pk:-?})" ;; esac
	done < <(ldd "$b" | awk '/=>/ { print $1, $3 }' | while read -r l p; do
		readelf -d "$b" | grep -qF "[$l]" && echo "$l $p"; done)
done
check "Containerfile: the runtime stage installs every library the binaries link (missing:${missing:- none})" test -z "$missing"

# .containerignore, read the way podman and docker read it (patterns from
# the context's root; a directory excludes everything under it).
for f in var/waybill.key var/waybill.db build/http.o build/.deps bin/waybilld tests/out/e2e/x.log \
	.git/HEAD deploy/x.key x.db-wal; do
	echo "out $f"
done >"$DIR/ci-want"
git -C "$ROOT" ls-files | sed 's/^/in /' >>"$DIR/ci-want"
python3 - "$ROOT/.containerignore" "$DIR/ci-want" >"$DIR/ci-bad" <<'PY'
import re, sys
pats = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    neg = line.startswith("!")
    p = line.lstrip("!").strip("/")
    rx = ""
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            rx += "(.*/)?"; i += 3
        elif p.startswith("**", i):
            rx += ".*"; i += 2
        elif p[i] == "*":
            rx += "[^/]*"; i += 1
        elif p[i] == "?":
            rx += "[^/]"; i += 1
        else:
            rx += re.escape(p[i]); i += 1
    pats.append((neg, re.compile(rx + "(/.*)?$")))
for line in open(sys.argv[2]):
    want, path = line.split(" ", 1)
    path = path.strip()
    excluded = False
    for neg, rx in pats:
        if rx.match(path):
            excluded = not neg
    if excluded != (want == "out"):
        print("%s %s" % ("kept" if want == "out" else "dropped", path))
PY
check "containerignore: var/, build/, bin/, .git and key or database files stay out; every tracked file goes in ($(head -n 3 "$DIR/ci-bad" | tr '\n' ' '))" \
	test ! -s "$DIR/ci-bad"
check ".dockerignore is .containerignore (docker reads only the former)" \
	test "$(readlink "$ROOT/.dockerignore")" = .containerignore

finish
