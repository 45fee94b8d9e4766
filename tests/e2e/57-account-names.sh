#!/bin/sh
# 57-account-names: waybillctl account add refuses names that the audit log
# gives to actors that are not accounts ("-" without a token, "waybilld" for
# the daemon's own jobs, "op.<user>" for waybillctl) or that read like them:
# an insider's account named "waybilld" would pass its reads off as the
# retention thread's.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

start_daemon

for n in - waybilld waybillctl system root admin operator op.x op.root sys.purge \
	waybill-backup _x .x; do
	if ctl account add --name "$n" --role admin >"$DIR/out" 2>"$DIR/err"; then
		fail "account name '$n' is refused" "it was added"
	elif [ -s "$DIR/out" ]; then
		fail "account name '$n' is refused" "a token was printed"
	elif [ "$(wc -l <"$DIR/err")" -ne 1 ] || ! grep -q reserved "$DIR/err"; then
		fail "account name '$n' is refused" "stderr: $(head -c 200 "$DIR/err")"
	else
		ok "account name '$n' is refused, one line that says it is reserved"
	fi
done
ctl account list >"$DIR/list"
check "none of them is in the account list" \
	bash -c '! awk "{ print \$1 }" "$1" | grep -Eqx -- "-|waybill.*|system|root|admin|operator|(op|sys)\..*|[_.].*"' _ "$DIR/list"

# Names like these stay usable.
for n in ops.callcenter wang.c001 li.depot1 admin2 sysadmin-li opal; do
	if ctl account add --name "$n" --role admin >/dev/null 2>"$DIR/err"; then
		ok "account name '$n' is accepted"
	else
		fail "account name '$n' is accepted" "$(head -c 200 "$DIR/err")"
	fi
done

# Depot codes as companies write them (docs/API.md's own example is D1): 1-32 of
# A-Z a-z 0-9 . _ -, compared exactly, so D1 and d1 are two depots.
for d in D1 SZ-BA.01 HUB_7 d1; do
	if ctl account add --name "dep.$(echo "$d" | tr 'A-Z._' 'a-z--')x$RANDOM" --role depot --depot "$d" \
		>/dev/null 2>"$DIR/err"; then
		ok "depot code '$d' is accepted"
	else
		fail "depot code '$d' is accepted" "$(head -c 200 "$DIR/err")"
	fi
done
for d in "D 1" "D1/2" "深圳" "$(printf 'D%.0s' $(seq 33))" ""; do
	if ctl account add --name "dep.bad$RANDOM" --role depot --depot "$d" >/dev/null 2>"$DIR/err"; then
		fail "depot code '$d' is refused" "it was added"
	else
		ok "depot code '${d:0:12}' is refused"
	fi
done
add_account cbig1 courier D1 || fail "account cbig1" "not added"
add_account dbig1 depot D1 || fail "account dbig1" "not added"
add_account dsmall1 depot d1 || fail "account dsmall1" "not added"
fixture 0 >"$DIR/o.json"
api POST /v1/orders "${TOK[cbig1]}" "$DIR/o.json"
expect_status "a courier of depot D1 creates an order" 201 "$STATUS"
check "... the order's depot is D1, as written" jq -e '.depot == "D1"' "$BODY"
TN=$(jb .tracking_no)
api GET "/v1/orders/$TN" "${TOK[dbig1]}"
expect_status "depot D1 sees its order" 200 "$STATUS"
api GET "/v1/orders/$TN" "${TOK[dsmall1]}"
expect_status "depot d1 is another depot: 404" 404 "$STATUS"

stop_daemon
finish
