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

stop_daemon
finish
