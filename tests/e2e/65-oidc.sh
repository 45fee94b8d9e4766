#!/bin/sh
# 65-oidc: people sign in through the company's OpenID provider.  A real one
# (oidc-provider from node_modules, tests/e2e/oidc/provider.mjs) runs on
# 127.0.0.1 with a test user per role; its JWT access tokens (RS256, ES256
# and EdDSA) work on the API with the right role and depot, and the audit
# names the person.  Expired, wrong-audience, wrong-issuer, not-yet-valid,
# alg none, HS256, alg-for-another-key-type, tampered and unknown-kid tokens
# answer 401 and are counted in auth.fail; an identity with no role, two
# roles, or a courier role without a depot answers 403, audited as denied.
# With the provider down, cached keys keep working and an unknown kid is 503.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

PROVIDER=$E2E_DIR/oidc/provider.mjs
[ -d "$ROOT/node_modules/oidc-provider" ] || die setup "no node_modules/oidc-provider: run make test (npm ci)"
command -v node >/dev/null || die setup "no node"

KD=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup "mktemp failed"
PPID_=
stop_provider() {
	if [ -n "$PPID_" ]; then
		kill -TERM "$PPID_" 2>/dev/null
		wait "$PPID_" 2>/dev/null
		PPID_=
	fi
}
# lib.sh's cleanup (the daemon, $DIR), after the provider and the key dir.
eval "lib_$(declare -f cleanup)"
cleanup() {
	local rc=$?
	stop_provider
	[ "${KEEP:-0}" = 1 ] || rm -rf "$KD"
	(exit "$rc")
	lib_cleanup
}
trap cleanup EXIT

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KD/rsa.pem" 2>/dev/null &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KD/ec.pem" 2>/dev/null &&
	openssl genpkey -algorithm ED25519 -out "$KD/ed.pem" 2>/dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KD/other.pem" 2>/dev/null ||
	die setup "openssl genpkey failed"

# provider_up: start the provider on $PPORT, wait for its discovery document.
provider_up() {
	node "$PROVIDER" "$PPORT" "$KD" >>"$KD/provider.log" 2>&1 &
	PPID_=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "$ISS/.well-known/openid-configuration" && return 0
		kill -0 "$PPID_" 2>/dev/null || break
		sleep 0.1
	done
	echo "oidc-provider did not start:" >&2
	tail -n 5 "$KD/provider.log" >&2
	return 1
}
PPORT=$(pick_port) || die setup "no free port"
ISS=http://127.0.0.1:$PPORT
provider_up || die setup "oidc-provider did not start"
ok "oidc-provider serves its discovery document on $ISS"

AUD=urn:waybill:api
MAP=wb-couriers=courier,wb-depot=depot,wb-admins=admin,wb-audit=auditor,wb-tel=telephony
start_daemon --oidc-issuer "$ISS" --oidc-client-id waybill --oidc-audience "$AUD" \
	--oidc-role-map "$MAP"
# (start_daemon's "trap cleanup EXIT" runs the cleanup above, by its name)
check "waybilld fetched the provider's three signing keys" grep -q 'oidc: 3 signing keys' "$DIR/log"

# token CLIENT [RESOURCE]: an access token from the provider's token endpoint.
token() {
	curl -fs --max-time 10 -u "$1:secret-$1" -d grant_type=client_credentials \
		-d "resource=${2:-$AUD}" "$ISS/token" | jq -r '.access_token // empty'
}
declare -A JWT
for u in courier1 courier2 depot1 admin1 auditor1 tel1 nobody1 twohats nodepot badname; do
	JWT[$u]=$(token "$u")
	[ -n "${JWT[$u]}" ] || die setup "no token for $u: $(tail -n 3 "$KD/provider.log")"
done
ok "the provider issued a token to each test user"

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# part N TOKEN: the Nth part (1-3) of a compact JWS, decoded.
part() {
	local p
	p=$(printf '%s' "$2" | cut -d. -f"$1" | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d
}
# forge KEY HEADER PAYLOAD: a compact JWS signed RS256 with KEY (the signing
# input as given: "-" signs nothing, for alg none).
forge() {
	local h p s=
	h=$(printf '%s' "$2" | b64url)
	p=$(printf '%s' "$3" | b64url)
	[ "$1" != - ] && s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$1" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$s"
}
NOW=$(date +%s)
claims() { # claims JQ-UPDATE: courier1's claims, valid now, changed by JQ-UPDATE
	jq -cn --arg iss "$ISS" --arg aud "$AUD" --argjson now "$NOW" \
		"{iss: \$iss, aud: \$aud, sub: \"courier1\", preferred_username: \"courier1\",
		  groups: [\"wb-couriers\"], depot: \"D1\", iat: \$now, exp: (\$now + 300)} | $1"
}
RS='{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}'
check "a token forged the same way with the provider's key is accepted (the forger works)" \
	test "$(
		api GET /v1/orders "$(forge "$KD/rsa.pem" "$RS" "$(claims .)")"
		echo "$STATUS"
	)" = 200

# ---- tokens from the provider work, with the right role and depot ------------

fixture 0 >"$DIR/o0.json"
api POST /v1/orders "${JWT[courier1]}" "$DIR/o0.json"
expect_status "courier1 (RS256) creates an order" 201 "$STATUS"
TN=$(jb .tracking_no)
check "the order belongs to courier1's depot claim D1" test "$(jb .depot)" = D1
api GET /v1/orders "${JWT[courier1]}"
check "courier1 lists its own order" test "$(jb "[.orders[] | select(.tracking_no == \"$TN\")] | length")" = 1
api GET "/v1/orders/$TN" "${JWT[courier2]}"
expect_status "courier2 (EdDSA, depot D2) does not see courier1's order" 404 "$STATUS"
api GET "/v1/orders/$TN" "${JWT[depot1]}"
expect_status "depot1 (ES256, depot D1) sees the order" 200 "$STATUS"
api GET "/v1/orders/$TN/label.pdf" "${JWT[depot1]}"
expect_status "depot1 prints its label" 200 "$STATUS"
check "the label is a PDF" grep -q '^%PDF' "$BODY"
api GET "/v1/orders/$TN" "${TOK[dep1]}"
expect_status "the wb_ depot account of d1 (not D1) does not see it" 404 "$STATUS"
api GET /v1/orders "${TOK[c1]}"
expect_status "wb_ tokens work as before" 200 "$STATUS"
api GET /v1/orders "${JWT[admin1]}"
expect_status "admin1 (EdDSA) has no list, like any admin" 403 "$STATUS"
api GET "/v1/admin/orders/$TN?reason=ticket%20CS-2291" "${JWT[admin1]}"
expect_status "admin1 reveals the order with a reason" 200 "$STATUS"
api POST /v1/calls/route "${JWT[tel1]}" -d '{"caller":"13800000009","called":"17000000000","extension":"0000"}'
expect_status "tel1 (ES256) may route calls" "200|404" "$STATUS"
api POST /v1/calls/route "${JWT[courier1]}" -d '{"caller":"13800000009","called":"17000000000"}'
expect_status "courier1 may not route calls" 403 "$STATUS"
api GET "/v1/audit?tracking_no=$TN&limit=1000" "${JWT[auditor1]}"
expect_status "auditor1 reads the trail" 200 "$STATUS"
for who in "oidc:courier1 order.create" "oidc:depot1 label.print" "oidc:admin1 admin.reveal"; do
	set -- $who
	check "the audit names the person: $1 $2" \
		jq -e --arg a "$1" --arg act "$2" 'any(.entries[]; .actor == $a and .action == $act)' "$BODY"
done
check "the audit holds no oidc actor but the test users'" \
	jq -e '[.entries[].actor | select(startswith("oidc:"))] - ["oidc:courier1","oidc:courier2","oidc:depot1","oidc:admin1"] == []' "$BODY"

# ---- identities without a usable role: 403, audited ---------------------------

for u in nobody1 twohats nodepot; do
	api GET /v1/orders "${JWT[$u]}"
	expect_status "$u (no role, two roles, or a courier without depot) gets 403" 403 "$STATUS"
done

# ---- tokens that do not check out: 401 ------------------------------------------

N401=0
refused() { # refused NAME TOKEN LOG-REASON
	local before
	before=$(grep -c "oidc: token refused: $3" "$DIR/log")
	api GET /v1/orders "$2"
	expect_status "$1: 401" 401 "$STATUS"
	N401=$((N401 + 1))
	check "$1: logged as \"$3\"" test "$(grep -c "oidc: token refused: $3" "$DIR/log")" -gt "$before"
}
refused "expired two minutes ago (beyond the 60 s skew)" \
	"$(forge "$KD/rsa.pem" "$RS" "$(claims '.iat = $now - 600 | .exp = $now - 120')")" expired
api GET /v1/orders "$(forge "$KD/rsa.pem" "$RS" "$(claims '.exp = $now - 30')")"
expect_status "expired 30 s ago (within the skew) still works" 200 "$STATUS"
refused "a real token of the provider for another audience" "$(token courier1 urn:other:api)" \
	"wrong audience"
refused "another issuer" "$(forge "$KD/rsa.pem" "$RS" "$(claims '.iss = "http://127.0.0.1:1"')")" \
	"wrong issuer"
refused "not valid before ten minutes from now" \
	"$(forge "$KD/rsa.pem" "$RS" "$(claims '.nbf = $now + 600')")" "not yet valid"
refused "unsigned (alg none)" "$(forge - '{"alg":"none","kid":"rsa-1"}' "$(claims .)")" "alg not"
HS_H=$(printf '%s' '{"alg":"HS256","kid":"rsa-1"}' | b64url)
HS_P=$(claims '.groups = ["wb-admins"]' | b64url)
openssl pkey -in "$KD/rsa.pem" -pubout -out "$KD/rsa.pub" 2>/dev/null
HS_S=$(printf '%s.%s' "$HS_H" "$HS_P" | openssl dgst -sha256 -hmac "$(cat "$KD/rsa.pub")" -binary | b64url)
refused "HS256 keyed with the provider's public key" "$HS_H.$HS_P.$HS_S" "alg not"
refused "ES256 named on the RSA key" \
	"$(forge "$KD/rsa.pem" '{"alg":"ES256","kid":"rsa-1"}' "$(claims .)")" "alg does not match"
T=${JWT[courier1]}
TAMPERED=$(printf '%s' "$T" | cut -d. -f1).$(part 2 "$T" | jq -c '.groups = ["wb-admins"]' | b64url).$(printf '%s' "$T" | cut -d. -f3)
refused "courier1's token with its groups changed to admin" "$TAMPERED" "bad signature"
FLIP=A
[ "${T: -20:1}" = A ] && FLIP=B
refused "a signature with one character changed" "${T:0:${#T}-20}$FLIP${T: -19}" "bad signature"
refused "signed by a key the provider does not have (unknown kid)" \
	"$(forge "$KD/other.pem" '{"alg":"RS256","kid":"rsa-9"}' "$(claims .)")" "unknown kid"
check "the unknown kid made the daemon ask the provider again" \
	test "$(grep -c 'oidc: 3 signing keys' "$DIR/log")" -ge 2
refused "the right key id, the wrong key" \
	"$(forge "$KD/other.pem" "$RS" "$(claims .)")" "bad signature"
refused "a name claim that is no account name" "${JWT[badname]}" "name claim"
check "no refusal logged a token or a claim value" \
	sh -c "! grep -E 'eyJ|Bad Name|wb-admins' '$DIR/log'"

# ---- the audit, once the daemon has reported its auth.fail counts ----------------

stop_daemon "sigterm exits 0 (reports auth.fail)"
ctl audit export >"$DIR/audit.jsonl" || fail "audit export" "waybillctl failed"
got=$(jq -s '[.[] | select(.action == "auth.fail") | .reason | capture("count=(?<n>[0-9]+)").n | tonumber] | add // 0' "$DIR/audit.jsonl")
check "audit: every 401 counted in auth.fail ($N401 refused, counted $got)" test "$got" -ge "$N401"
for u in nobody1 twohats nodepot; do
	check "audit: oidc:$u's 403 recorded as denied" \
		jq -se --arg a "oidc:$u" 'any(.[]; .actor == $a and .result == "denied")' "$DIR/audit.jsonl"
done
check "audit: the chain verifies" ctl audit verify

# ---- the provider down: cached keys work, unknown kids are 503 --------------------

daemon_up || die restart "waybilld did not come back"
stop_provider
check "the provider is down" sh -c "! curl -fs -o /dev/null --max-time 1 '$ISS/jwks'"
api GET /v1/orders "${JWT[courier1]}"
expect_status "provider down: a token signed by a cached key (RS256) works" 200 "$STATUS"
api GET "/v1/orders/$TN" "${JWT[depot1]}"
expect_status "provider down: a token signed by a cached key (ES256) works" 200 "$STATUS"
curl -s -D "$DIR/h503" -o "$BODY" -H "Authorization: Bearer $(forge "$KD/other.pem" '{"alg":"RS256","kid":"rsa-9"}' "$(claims .)")" \
	"$URL/v1/orders" >/dev/null
check "provider down: an unknown kid answers 503" grep -q '^HTTP/1.1 503' "$DIR/h503"
check "provider down: the 503 says Retry-After" grep -qi '^Retry-After:' "$DIR/h503"
check "provider down: the 503 is the usual error body" jq -e '.error.code | length > 0' "$BODY"
api GET /v1/orders "$(forge "$KD/other.pem" '{"alg":"RS256","kid":"rsa-8"}' "$(claims .)")"
expect_status "provider down: another unknown kid within the minute is 503 again, without a fetch" 503 "$STATUS"
check "provider down: one refresh attempt in that minute" \
	test "$(grep -c 'oidc: fetching .*/\.well-known/openid-configuration failed\|oidc: fetching .*/jwks failed' "$DIR/log")" -eq 1
stop_daemon

# ---- admin_max_auth_age_s: an OIDC admin's reveal needs a recent sign-in ----------

provider_up || die restart "oidc-provider did not come back"
daemon_up --oidc-issuer "$ISS" --oidc-client-id waybill --oidc-audience "$AUD" \
	--oidc-role-map "$MAP" --admin-max-auth-age-s 300 || die restart "waybilld did not come back"
NOW=$(date +%s)
admin_claims() { claims ".sub = \"admin1\" | .preferred_username = \"admin1\" | .groups = [\"wb-admins\"] | del(.depot) | $1"; }
REVEAL="/v1/admin/orders/$TN?reason=ticket%20CS-2291"
api GET "$REVEAL" "$(token admin1)"
expect_status "a fresh token without auth_time may not reveal" 401 "$STATUS"
check "... and says fresh_login_required" test "$(jb .error.code)" = fresh_login_required
api GET "$REVEAL" "$(forge "$KD/rsa.pem" "$RS" "$(admin_claims '.auth_time = $now - 1000')")"
expect_status "signed in 1000 s ago (limit 300): no reveal" 401 "$STATUS"
api GET "$REVEAL" "$(forge "$KD/rsa.pem" "$RS" "$(admin_claims '.auth_time = $now - 10')")"
expect_status "signed in 10 s ago: the reveal works" 200 "$STATUS"
api GET "$REVEAL" "${TOK[adm1]}"
expect_status "a wb_ admin token has no login time and still reveals" 200 "$STATUS"
api GET "/v1/audit?tracking_no=$TN&limit=1000" "${TOK[aud1]}"
check "audit: the stale reveals are recorded as login_too_old" \
	test "$(jb '[.entries[] | select(.actor == "oidc:admin1" and .action == "admin.reveal" and .result == "login_too_old")] | length')" = 2
stop_daemon
finish
