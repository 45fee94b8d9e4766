#!/bin/sh
# 55-tls: with tls_cert and tls_key set, waybilld serves HTTPS only, TLS 1.2
# or 1.3 with forward-secret AEAD suites (ECDHE, GCM or ChaCha20-Poly1305);
# a certificate without its key, an unreadable one, or a key that group or
# others may read stops it at start with one line on stderr.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon
stop_daemon

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$DIR/tls.key" -out "$DIR/tls.crt" 2>/dev/null
chmod 600 "$DIR/tls.key"
check "a test certificate was made" test -s "$DIR/tls.crt"

# daemon_tls [CERT KEY]: start waybilld with TLS; like daemon_up, another
# port when it exits at once (the port picked was taken in the meantime).
daemon_tls() {
	local try crt=${1:-$DIR/tls.crt} key=${2:-$DIR/tls.key}
	for try in 1 2 3 4 5; do
		PORT=$(pick_port)
		"$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$PORT" \
			--tls-cert "$crt" --tls-key "$key" 2>>"$DIR/log" &
		DPID=$!
		for _ in $(seq 100); do
			curl -skf -o /dev/null --max-time 1 "https://127.0.0.1:$PORT/healthz" && return 0
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$DPID" 2>/dev/null && return 1 # up, but not answering
		wait "$DPID" 2>/dev/null
		DPID=
	done
	return 1
}

# tls_handshake S_CLIENT_OPTIONS...: a handshake with these options completes.
# Options that lower the client's own floor (@SECLEVEL=0) make sure that a
# refusal is the server's, not OpenSSL's.
tls_handshake() {
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" \
		</dev/null >"$DIR/s_client.out" 2>&1 &&
		! grep -q 'Cipher is (NONE)' "$DIR/s_client.out"
}
tls_refused() {
	! tls_handshake "$@"
}

if daemon_tls; then
	ok "waybilld starts with tls_cert and tls_key"
	check "TLS 1.3 is served" tls_handshake -tls1_3
	check "TLS 1.2 with ECDHE-ECDSA and AES-GCM is served" tls_handshake -tls1_2 \
		-cipher ECDHE-ECDSA-AES128-GCM-SHA256
	check "TLS 1.2 with ChaCha20-Poly1305 is served" tls_handshake -tls1_2 \
		-cipher ECDHE-ECDSA-CHACHA20-POLY1305
	check "TLS 1.1 is refused" tls_refused -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	check "TLS 1.0 is refused" tls_refused -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
	check "a CBC suite (ECDHE-ECDSA-AES128-SHA) is refused" tls_refused -tls1_2 \
		-cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'
	check "a CBC-SHA256 suite is refused" tls_refused -tls1_2 \
		-cipher 'ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0'
	code=$(curl -s -o "$DIR/h.json" -w '%{http_code}' --cacert "$DIR/tls.crt" \
		--resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/healthz")
	expect_status "HTTPS /healthz verifies against the certificate" 200 "$code"
	fixture 0 >"$DIR/o.json"
	code=$(curl -s -o "$DIR/r.json" -w '%{http_code}' --cacert "$DIR/tls.crt" \
		--resolve "localhost:$PORT:127.0.0.1" -H "Authorization: Bearer ${TOK[c1]}" \
		-H 'Content-Type: application/json' --data-binary "@$DIR/o.json" \
		"https://localhost:$PORT/v1/orders")
	expect_status "an order over HTTPS" 201 "$code"
	check "the order view came back over HTTPS" jq -e '.tracking_no | test("^WB[0-9]{18}$")' \
		"$DIR/r.json"
	# What libmicrohttpd refuses itself is answered with the JSON error over TLS too.
	printf 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n{}' >"$DIR/req"
	python3 "$E2E_DIR/raw_http.py" all "$PORT" "$DIR/req" tls >"$DIR/all.json" 2>&1
	jq -r .text "$DIR/all.json" >"$DIR/bad.txt" 2>/dev/null
	if [ "$(jq -c .statuses "$DIR/all.json")" = "[400]" ] &&
		grep -q '"code":"bad_request"' "$DIR/bad.txt" && grep -qi '^X-Request-Id: ' "$DIR/bad.txt"; then
		ok "a malformed Content-Length over TLS: one 400, the JSON error, X-Request-Id"
	else
		fail "a malformed Content-Length over TLS" "$(head -c 400 "$DIR/all.json")"
	fi
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/healthz")
	check "plain HTTP to the TLS port gets no answer" test "$code" = 000
	kill -TERM "$DPID"
	wait "$DPID"
	expect_status "SIGTERM exits 0 (TLS)" 0 "$?"
	DPID=
else
	fail "waybilld starts with tls_cert and tls_key" "$(tail -n 3 "$DIR/log")"
fi

# Refusals at start: one line on stderr, non-zero exit.
refuse() {
	local name=$1
	shift
	"$WBD" --db "$DB" --key-file "$DIR/key" --listen "127.0.0.1:$(pick_port)" "$@" \
		>/dev/null 2>"$DIR/err" &
	local pid=$!
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		fail "$name" "it started"
		return
	fi
	wait "$pid"
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$(wc -l <"$DIR/err")" -eq 1 ]; then
		ok "$name"
	else
		fail "$name" "exit $rc, stderr: $(head -c 300 "$DIR/err")"
	fi
}
refuse "tls_cert without tls_key is refused" --tls-cert "$DIR/tls.crt"
chmod 644 "$DIR/tls.key"
refuse "a tls_key with mode 0644 is refused" --tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key"
grep -q 'tls_key.*chmod 600' "$DIR/err" && ok "the refusal says what to do" ||
	fail "the refusal says what to do" "$(head -c 300 "$DIR/err")"
chmod 640 "$DIR/tls.key"
refuse "a tls_key with mode 0640 is refused" --tls-cert "$DIR/tls.crt" --tls-key "$DIR/tls.key"
chmod 600 "$DIR/tls.key"
refuse "an unreadable certificate is refused" --tls-cert "$DIR/nope.crt" --tls-key "$DIR/tls.key"

# An RSA certificate: no RSA key exchange (no forward secrecy), no CBC.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$DIR/rsa.key" -out "$DIR/rsa.crt" 2>/dev/null
chmod 600 "$DIR/rsa.key"
if daemon_tls "$DIR/rsa.crt" "$DIR/rsa.key"; then
	ok "waybilld starts with an RSA certificate"
	check "TLS 1.2 with ECDHE-RSA and AES-GCM is served" tls_handshake -tls1_2 \
		-cipher ECDHE-RSA-AES256-GCM-SHA384
	check "TLS 1.3 is served with an RSA certificate" tls_handshake -tls1_3
	check "RSA key exchange with CBC (AES128-SHA) is refused" tls_refused -tls1_2 \
		-cipher 'AES128-SHA:@SECLEVEL=0'
	check "RSA key exchange with GCM (AES128-GCM-SHA256) is refused" tls_refused -tls1_2 \
		-cipher 'AES128-GCM-SHA256:@SECLEVEL=0'
	check "ECDHE-RSA with CBC is refused" tls_refused -tls1_2 \
		-cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0'
	kill -TERM "$DPID"
	wait "$DPID"
	expect_status "SIGTERM exits 0 (TLS, RSA)" 0 "$?"
	DPID=
else
	fail "waybilld starts with an RSA certificate" "$(tail -n 3 "$DIR/log")"
fi

finish
