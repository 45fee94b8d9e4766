#!/bin/sh
# 67-station: the depot's print station and the auditor's page (/station/,
# /station/audit), served by the daemon from web_dir.  With curl: every
# answer under /station/ carries the pages' strict Content-Security-Policy,
# nosniff and no-referrer (found or not, GET or HEAD); content types, ETag
# and 304; traversal in every spelling (.., %2e%2e, an encoded slash, a NUL,
# a symbolic link out of web_dir, a subdirectory, a dot file) answers no
# file; the bundle (every file under web/) holds no personal data, no secret
# and no inline script or style.  With headless Chromium (puppeteer-core and
# Debian's chromium) and the real oidc-provider (tests/e2e/oidc/): depot
# staff sign in on the provider's login page, scan three fixture orders, see
# their masked previews, print them (a fake printer: a TCP listener here),
# hit the reprint limit and see the message; staff of another depot scan
# one and see "unknown"; an auditor signs in on /station/audit and sees the
# prints in each trail.  Routes that are not on the server yet are skipped
# by name.  SHOTS=DIR keeps the screenshots there (make station-shots).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

PROVIDER=$E2E_DIR/oidc/provider.mjs
[ -d "$ROOT/node_modules/oidc-provider" ] || die setup "no node_modules/oidc-provider: run make test (npm ci)"
[ -d "$ROOT/node_modules/puppeteer-core" ] || die setup "no node_modules/puppeteer-core: run make test (npm ci)"
command -v node >/dev/null || die setup "no node"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || die setup "no $CHROMIUM (Debian package chromium): run make test"

KD=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup "mktemp failed"
PPID_=
FPID=
eval "lib_$(declare -f cleanup)"
cleanup() {
	local rc=$?
	[ -n "$PPID_" ] && kill -TERM "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
	[ -n "$FPID" ] && kill -TERM "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] || rm -rf "$KD"
	(exit "$rc")
	lib_cleanup
}
trap cleanup EXIT

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KD/rsa.pem" 2>/dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KD/ec.pem" 2>/dev/null &&
	openssl genpkey -algorithm ED25519 -out "$KD/ed.pem" 2>/dev/null ||
	die setup "openssl genpkey failed"
PPORT=$(pick_port) || die setup "no free port"
ISS=http://127.0.0.1:$PPORT
node "$PROVIDER" "$PPORT" "$KD" >>"$KD/provider.log" 2>&1 &
PPID_=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "$ISS/.well-known/openid-configuration" && break
	kill -0 "$PPID_" 2>/dev/null || break
	sleep 0.1
done
curl -fs -o /dev/null --max-time 2 "$ISS/.well-known/openid-configuration" ||
	die setup "oidc-provider did not start: $(tail -n 3 "$KD/provider.log")"
ok "oidc-provider serves its discovery document on $ISS"

# The fake printer: every connection's bytes appended to one file.
FPORT=$(pick_port) || die setup "no free port"
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "ab") as f:
        while True:
            b = c.recv(65536)
            if not b: break
            f.write(b); f.flush()
    c.close()
' "$FPORT" "$KD/printed" &
FPID=$!

# web_dir: a copy of web/ plus what must never be served from it.
WEB=$KD/web
mkdir -p "$WEB/sub" && cp "$ROOT"/web/* "$WEB/" || die setup "cannot copy web/"
echo 'SECRET-OUTSIDE' >"$KD/outside.js"
ln -s ../outside.js "$WEB/evil.js"
ln -s /etc "$WEB/etc"
echo 'SECRET-SUB' >"$WEB/sub/inner.js"
echo 'SECRET-DOT' >"$WEB/.hidden.js"

AUD=urn:waybill:api
MAP=wb-couriers=courier,wb-depot=depot,wb-admins=admin,wb-audit=auditor,wb-tel=telephony
# Two printers of depot D1: the fake one, and one that is off (nobody listens there).
OFFPORT=$(pick_port) || die setup "no free port"
printf 'd1-dock D1 127.0.0.1:%s zpl 203 100x150\nd1-off D1 127.0.0.1:%s zpl 203 100x150\nd2-dock D2 127.0.0.1:%s zpl 203 100x150\n' \
	"$FPORT" "$OFFPORT" "$FPORT" >"$KD/printers"
PRINTER_FLAGS=(--printers "$KD/printers")
start_daemon --oidc-issuer "$ISS" --oidc-client-id waybill --oidc-audience "$AUD" \
	--oidc-role-map "$MAP" --web-dir "$WEB" --station-scope "openid api" \
	--label-reprints-max 1 --audit-checkpoint-s 1 "${PRINTER_FLAGS[@]}"
check "the daemon loaded the page files (and logged the link it skipped)" \
	grep -q 'web_dir: evil.js is a symbolic link: not served' "$DIR/log"

# ---- headers on every answer under /station/ ------------------------------------

CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self' $ISS; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# head_of METHOD PATH: the answer's status line and headers in $DIR/h (curl --path-as-is).
head_of() {
	local m=(-X "$1")
	[ "$1" = HEAD ] && m=(-I)
	: >"$DIR/b"
	curl -s --path-as-is -o "$DIR/b" -D "$DIR/h" "${m[@]}" ${2:+"$URL$2"} ${3:+-H "$3"} --max-time 10
	[ "$1" = HEAD ] && : >"$DIR/b" # -I writes the headers there too
	tr -d '\r' <"$DIR/h" >"$DIR/h.txt"
}
hdr() { sed -n "s/^$1: //Ip" "$DIR/h.txt" | head -n 1; }
status_of() { head -n 1 "$DIR/h.txt" | cut -d' ' -f2; }
secure() { # secure NAME: the three headers, and a policy that forbids framing
	check "$1: X-Content-Type-Options nosniff" test "$(hdr X-Content-Type-Options)" = nosniff
	check "$1: Referrer-Policy no-referrer" test "$(hdr Referrer-Policy)" = no-referrer
	check "$1: a Content-Security-Policy with frame-ancestors 'none'" \
		sh -c "sed -n 's/^Content-Security-Policy: //Ip' '$DIR/h.txt' | grep -q \"frame-ancestors 'none'\""
}
while read -r path want ctype; do
	for m in GET HEAD; do
		head_of "$m" "$path"
		expect_status "$m $path: $want" "$want" "$(status_of)"
		check "$m $path: the pages' exact policy" test "$(hdr Content-Security-Policy)" = "$CSP"
		secure "$m $path"
		[ "$ctype" = - ] || check "$m $path: Content-Type ${ctype//_/ }" test "$(hdr Content-Type)" = "${ctype//_/ }"
	done
	[ "$want" = 200 ] && check "HEAD $path: the GET's Content-Length" test -n "$(hdr Content-Length)"
done <<EOT
/station/ 200 text/html;_charset=utf-8
/station/audit 200 text/html;_charset=utf-8
/station/index.html 200 text/html;_charset=utf-8
/station/station.js 200 text/javascript;_charset=utf-8
/station/auth.js 200 text/javascript;_charset=utf-8
/station/style.css 200 text/css;_charset=utf-8
/station/config.json 200 application/json
/station/nothing.js 404 application/json
/station 308 -
EOT
printf 'HEAD /station/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$DIR/raw"
python3 "$E2E_DIR/raw_http.py" raw "$PORT" "$DIR/raw" >"$DIR/raw.json" 2>/dev/null
check "HEAD /station/ on the wire: 200, headers only" jq -e '.status == 200 and .body == ""' "$DIR/raw.json"
head_of GET /station
check "/station answers 308 to /station/" test "$(hdr Location)" = /station/
head_of GET /station/
ETAG=$(hdr ETag)
check "/station/ has Cache-Control no-cache and an ETag" test "$(hdr Cache-Control)" = no-cache -a -n "$ETAG"
check "/station/ is index.html, not a listing" grep -q 'src="station.js"' "$DIR/b"
head_of GET /station/ "If-None-Match: $ETAG"
expect_status "If-None-Match with the ETag: 304" 304 "$(status_of)"
secure "the 304"
head_of GET /station/ 'If-None-Match: "0000000000000000"'
expect_status "If-None-Match with another ETag: 200" 200 "$(status_of)"
head_of POST /station/
expect_status "POST /station/: 405" 405 "$(status_of)"
secure "the 405"
head_of GET /v1/orders
check "API answers carry the strict default policy" \
	test "$(hdr Content-Security-Policy)" = "default-src 'none'; frame-ancestors 'none'"
secure "an API 401"

# config.json: what the pages need, and not a secret.
curl -s -o "$BODY" "$URL/station/config.json"
check "config.json holds exactly issuer, client_id, resource and scope" \
	jq -e --arg iss "$ISS" '(keys == ["client_id","issuer","resource","scope"]) and .issuer == $iss and .client_id == "waybill-station" and .resource == "urn:waybill:api" and .scope == "openid api"' "$BODY"

# ---- traversal, links, listings: no file outside what was loaded -----------------

for p in '/station/../README.md' '/station/%2e%2e/README.md' '/station/%2E%2E/%2E%2E/etc/passwd' \
	'/station/./index.html' '/station//index.html' '/station/.hidden.js' '/station/%2ehidden.js' \
	'/station/evil.js' '/station/etc/passwd' '/station/etc' '/station/sub/' '/station/sub/inner.js' \
	'/station/sub%2finner.js' '/station/index.html%00.js' '/station/%00' '/station/..%5c..%5cREADME.md' \
	'/station/index.html/' '/station/INDEX.HTML'; do
	head_of GET "$p"
	case $(status_of) in 400 | 404) ok "GET $p: $(status_of)" ;; *) fail "GET $p" "status $(status_of)" ;; esac
	check "GET $p: nothing from outside the loaded pages" sh -c "! grep -q 'SECRET-\|root:\|# waybill' '$DIR/b'"
	secure "GET $p"
done
head_of GET '/station/index.html?x=../../README.md'
expect_status "a query string does not change the file" 200 "$(status_of)"
# Raw bytes a client library would not send: a NUL byte, a backslash.
printf 'GET /station/index.html\0.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$DIR/raw"
code=$(python3 "$E2E_DIR/raw_http.py" raw "$PORT" "$DIR/raw" 2>/dev/null | jq -r .status)
case $code in 400 | 404) ok "a NUL byte in the path: $code" ;; *) fail "a NUL byte in the path" "got '$code'" ;; esac

# ---- the bundle: no personal data, no secret, no inline script ---------------------

BUNDLE=("$ROOT"/web/*)
check "the bundle is plain files, no subdirectory, no link" \
	test "$(find "$ROOT/web" -mindepth 1 \( -type d -o -type l \) | wc -l)" = 0
no_pii "bundle: no personal data" "${BUNDLE[@]}"
check "bundle: no secret (client_secret, private key, wb_ token, JWT, password)" \
	sh -c "! grep -Eil 'client_secret|BEGIN [A-Z ]*PRIVATE|wb_[0-9a-f]{16}|eyJ[A-Za-z0-9_-]{10}|password|secret-' $(printf "'%s' " "${BUNDLE[@]}")"
check "bundle: no inline script, style attribute or event handler in the HTML" \
	sh -c "! grep -Eil '<script>|<script [^>]*>[^<]|style=|<style| on[a-z]+=|javascript:' '$ROOT'/web/*.html"
check "bundle: every script is an ES module of the bundle (no third-party URL)" \
	sh -c "! grep -Eh '<script|import ' '$ROOT'/web/*.html '$ROOT'/web/*.js | grep -Ev 'type=\"module\" src=\"[a-z]+\\.js\"|^import .* from '\\''\\./[a-z0-9]+\\.js'\\'';\$'"
# code: the bundle's JavaScript without its comment lines
grep -v '^[[:space:]]*//' "$ROOT"/web/*.js >"$DIR/code.js"
grep -v '^[[:space:]]*//' "$ROOT"/web/auth.js >"$DIR/auth.js"
check "bundle: no localStorage, cookie or indexedDB anywhere" sh -c "! grep -En 'localStorage|document\.cookie|indexedDB' '$DIR/code.js'"
check "bundle: sessionStorage written once, by auth.js (the one-time PKCE state)" \
	test "$(grep -c 'sessionStorage\.setItem' "$DIR/code.js")" = 1 -a "$(grep -c 'sessionStorage\.setItem' "$DIR/auth.js")" = 1
check "bundle: only auth.js fetches, and every fetch omits cookies" \
	test "$(grep -c 'fetch(' "$DIR/code.js")" = "$(grep -c 'fetch(' "$DIR/auth.js")" -a \
	"$(grep -c 'fetch(' "$DIR/auth.js")" = "$(grep -c "credentials: 'omit'" "$DIR/auth.js")"

# ---- three fixture orders of depot D1 --------------------------------------------

add_account cd1 courier D1 || die setup "account add cd1"
TNS=()
for i in 3 4 5; do
	fixture "$i" >"$DIR/o$i.json"
	api POST /v1/orders "${TOK[cd1]}" "$DIR/o$i.json"
	[ "$STATUS" = 201 ] || die setup "order $i: $STATUS $(snip "$BODY")"
	TNS+=("$(jb .tracking_no)")
done
ok "three fixture orders of depot D1: ${TNS[*]}"
UNKNOWN=$(tn_make 1234567890123456)

# ---- the browser ------------------------------------------------------------------

SHOTDIR=${SHOTS:-$DIR}
mkdir -p "$SHOTDIR"
STATION=$URL ISSUER=$ISS TNS=$(IFS=,; echo "${TNS[*]}") UNKNOWN_TN=$UNKNOWN SHOTS=$SHOTDIR \
	PRINTER_OUT=$KD/printed CHROMIUM=$CHROMIUM DOWNLOADS=$KD/downloads \
	timeout 150 node "$E2E_DIR/station/browse.mjs" >"$DIR/browse.out" 2>"$DIR/browse.err"
brc=$?
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "browser: ${line#ok   }" ;;
	"FAIL "*) fail "browser: ${line#FAIL }" ;;
	"skip "*) echo "skip browser: ${line#skip }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$DIR/browse.out"
[ "$brc" = 0 ] || [ "$FAIL" -gt 0 ] || fail "browser: the script" "exit $brc: $(tail -n 3 "$DIR/browse.err" | tr '\n' '|')"
check "browser: screenshots of both pages" test -s "$SHOTDIR/station.png" -a -s "$SHOTDIR/station-audit.png"

# ---- what the browser did, seen from the API ---------------------------------------

audit_all "$DIR/trail.json" "actor=oidc:depot1" || fail "audit read" "status $STATUS"
for tn in "${TNS[@]}"; do
	check "audit: depot1's prints of $tn are on record" \
		jq -e --arg t "$tn" 'any(.[]; .tracking_no == $t and (.action | test("^label\\.(print|reprint|batch)")) and .result == "ok")' "$DIR/trail.json"
done
check "audit: the reprint past the limit is on record as refused" \
	jq -e 'any(.[]; (.action | test("^(label\\.|print_job\\.create)")) and .result != "ok")' "$DIR/trail.json"
audit_all "$DIR/sends.json" "actor=waybilld" || fail "audit read" "status $STATUS"
check "audit: the daemon's sends are on record, the one to the printer that is off as failed" \
	jq -e 'any(.[]; .action == "print_job.send" and .result == "ok") and any(.[]; .action == "print_job.send" and .result != "ok")' "$DIR/sends.json"
audit_all "$DIR/trail2.json" "actor=oidc:depot2" || fail "audit read" "status $STATUS"
check "audit: depot2's look-up of a D1 parcel is on record as denied" \
	jq -e --arg t "${TNS[0]}" 'any(.[]; .tracking_no == $t and .result == "denied")' "$DIR/trail2.json"
for _ in $(seq 50); do grep -q 'audit checkpoint: v1' "$DIR/log" && break; sleep 0.1; done
api GET /v1/audit/verify "${TOK[aud1]}"
check "verify: the chain is intact and its last signed checkpoint is held" \
	jq -e '.ok and .checkpoint.seq > 0 and (.checkpoint.head | test("^[0-9a-f]{64}$")) and .checkpoint.held' "$BODY"
no_pii "the daemon's log" "$DIR/log"

# ---- an insider with the database deletes the tail that holds the prints ------------
CPS=$(jb .checkpoint.seq)
# PostgreSQL: the trigger turned off around it, and the head row set back with
# it (audit_head), so the writers go on from the shorter chain as on SQLite.
if is_pg; then
	db_sql "ALTER TABLE audit DISABLE TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= $CPS;
		ALTER TABLE audit ENABLE TRIGGER audit_no_delete;
		UPDATE audit_head SET seq = $((CPS - 1)), hash = (SELECT hash FROM audit WHERE seq = $((CPS - 1)))" \
		>/dev/null 2>"$DIR/sql.err" || fail "the insider's delete" "$(cat "$DIR/sql.err")"
else
	db_sql "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= $CPS;" 2>"$DIR/sql.err" ||
		fail "the insider's delete" "$(cat "$DIR/sql.err")"
fi
api GET /v1/audit/verify "${TOK[aud1]}"
check "verify after the tail was deleted: the shorter chain links, but the checkpoint is not held" \
	jq -e '.ok and .checkpoint.seq >= '"$CPS"' and (.checkpoint.held | not)' "$BODY"
finish
