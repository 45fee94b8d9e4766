#!/bin/sh
# deploy/dev-setup.sh - what `make run` does before starting the daemon:
# a development root key and one demo account per role under var/.
# Tokens are printed once; later runs leave existing accounts alone.
set -eu
BIN=${BIN:-bin}
mkdir -p var
chmod 700 var
ctl() { "$BIN/waybillctl" --db var/waybill.db --key-file var/waybill.key "$@"; }

if [ ! -f var/waybill.key ]; then
	"$BIN/waybillctl" keygen --out var/waybill.key
fi
if ctl account list | grep -q '^demo-courier '; then
	echo "demo accounts exist (waybillctl --db var/waybill.db --key-file var/waybill.key account list);"
	echo "get a fresh token with: bin/waybillctl --db var/waybill.db --key-file var/waybill.key token rotate NAME"
	exit 0
fi
echo "demo accounts (tokens are shown only now; keep them):"
# name:role:depot:phone (demo couriers get made-up phones so they can be assigned)
for spec in demo-courier:courier:d1:13800000001 demo-courier2:courier:d1:13800000002 \
	demo-depot:depot:d1: demo-admin:admin:: demo-auditor:auditor:: demo-telephony:telephony::; do
	IFS=: read -r name role depot phone <<EOF2
$spec
EOF2
	set -- --name "$name" --role "$role"
	[ -n "$depot" ] && set -- "$@" --depot "$depot"
	[ -n "$phone" ] && set -- "$@" --phone "$phone"
	tok=$(ctl account add "$@")
	printf '  %-15s %-10s %s\n' "$name" "$role" "$tok"
done
