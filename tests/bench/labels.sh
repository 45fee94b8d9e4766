#!/bin/sh
# tests/bench/labels.sh - label printing over HTTP next to the renderer's
# own in-process rate, measured in the same run.  Called by run.sh with
# BIN, BUILD and HTTP_RPS (its raw HTTP ceiling).
set -u
BIN=${BIN:-bin}
BUILD=${BUILD:-build}
SECS=${BENCH_SECS:-10}
dir=$BUILD/bench-labels
port=$((40000 + $$ % 20000))
. tests/bench/lib.sh
mkdir -p "$dir/o"

echo "== labels: the renderer alone (in-process, 100x150; ZPL and TSPL batches in parts on up to 4 threads)"
"$BUILD/bench/label_render" 3 >"$dir/render"
r_single=$(awk '$1 == "single" {print $2}' "$dir/render")
r_single_b=$(awk '$1 == "single" {print $3}' "$dir/render")
r_batch=$(awk '$1 == "batch" {print $2}' "$dir/render")
r_batch_b=$(awk '$1 == "batch" {print $3}' "$dir/render")
echo "single: $r_single labels/s, $r_single_b bytes each; batch of 100: $r_batch labels/s, $r_batch_b bytes per page"
for k in zpl-single zpl-batch png-single; do
	awk -v k="$k" '$1 == k { printf "%s: %s labels/s, %s bytes per label\n", k, $2, $3 }' "$dir/render"
done

"$BIN/waybillctl" keygen --out "$dir/key" 2>/dev/null
ctl() { "$BIN/waybillctl" --db "$dir/db" --key-file "$dir/key" "$@"; }
courier=$(ctl account add --name bc --role courier --depot d1)
depot=$(ctl account add --name bd --role depot --depot d1)
"$BIN/waybilld" --db "$dir/db" --key-file "$dir/key" --listen "127.0.0.1:$port" \
	--audit-checkpoints "$dir/audit.checkpoints" \
	--log-level warn --label-reprints-max 1000 2>"$dir/log" &
pid=$!
# Start-up renders each template once (labels_check): give it time on a
# disk still writing back the order runs, and say so when it never came.
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
if ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
	echo "labels: waybilld did not start; its log:" >&2
	tail -n 20 "$dir/log" >&2
	kill "$pid" 2>/dev/null
	exit 1
fi

# 500 orders to print.
split -l 1 -a 3 tests/data/orders.jsonl "$dir/o/"
for f in "$dir"/o/*; do
	printf 'next\nurl = "http://127.0.0.1:%s/v1/orders"\ndata-binary = "@%s"\noutput = "%s.out"\n' \
		"$port" "$f" "$f"
	printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' \
		"$courier"
done | tail -n +2 >"$dir/curl.cfg"
curl -s --no-progress-meter --parallel --parallel-max 16 -K "$dir/curl.cfg" >/dev/null
cat "$dir"/o/*.out | jq -r .tracking_no | grep -E '^[A-Z]+[0-9]{18}$' >"$dir/tns"
echo "== labels over HTTP ($(wc -l <"$dir/tns") orders, depot token, ${SECS}s)"

size=$(curl -s -o "$dir/one.pdf" -w '%{size_download}' -H "Authorization: Bearer $depot" \
	"http://127.0.0.1:$port/v1/orders/$(head -n 1 "$dir/tns")/label.pdf")
out=$(WB_TOKEN=$depot WB_TNS=$dir/tns wrk -t2 -c16 -d"${SECS}s" -s tests/bench/print_labels.lua \
	"http://127.0.0.1:$port" | grep RESULT)
rps=$(echo "$out" | field rps)
single_rps=$rps
echo "single: $rps labels/s  p50 $(echo "$out" | field p50_ms) ms  p99 $(echo "$out" | field p99_ms) ms  errors $(echo "$out" | field errors)  $size bytes each (goal >= 300/s, <= 25 KB)"
echo "  = $(ratio "$rps" "$r_single")x the renderer alone, $(ratio "$rps" "${HTTP_RPS:-0}")x raw HTTP"

head -n 100 "$dir/tns" | jq -R . | jq -sc '{tracking_nos: ., size: "100x150"}' >"$dir/batch.json"
bsize=$(curl -s -o "$dir/batch.pdf" -w '%{size_download}' -H "Authorization: Bearer $depot" \
	-H 'Content-Type: application/json' --data-binary "@$dir/batch.json" \
	"http://127.0.0.1:$port/v1/labels")
out=$(WB_TOKEN=$depot WB_TNS=$dir/tns WB_BATCH=100 wrk -t2 -c4 -d"${SECS}s" \
	-s tests/bench/print_labels.lua "http://127.0.0.1:$port" | grep RESULT)
rps=$(echo "$out" | field rps)
labels=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r * 100 }')
echo "batch of 100: $labels labels/s  p50 $(echo "$out" | field p50_ms) ms per request  errors $(echo "$out" | field errors)  $((bsize / 100)) bytes per page (goal >= 2000/s, <= 4 KB)"
echo "  = $(ratio "$labels" "$r_batch")x the renderer alone"
pdf_single=$single_rps

# The printer languages, in the same run: single ZPL and PNG, a batch of 100 ZPL.
for f in zpl png; do
	fsize=$(curl -s -o "$dir/one.$f" -w '%{size_download}' -H "Authorization: Bearer $depot" \
		"http://127.0.0.1:$port/v1/orders/$(head -n 1 "$dir/tns")/label?format=$f")
	# bytes per label over the 500 fixtures (the first one is no average)
	avg=$(head -n 100 "$dir/tns" | jq -R . | jq -sc --arg f "$f" '{tracking_nos: ., format: $f}' |
		curl -s -o "$dir/avg.$f" -w '%{size_download}' -H "Authorization: Bearer $depot" \
			-H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$port/v1/labels")
	[ "$f" = png ] && avg=$fsize || avg=$((avg / 100))
	out=$(WB_TOKEN=$depot WB_TNS=$dir/tns WB_FORMAT=$f wrk -t2 -c16 -d"${SECS}s" \
		-s tests/bench/print_labels.lua "http://127.0.0.1:$port" | grep RESULT)
	rps=$(echo "$out" | field rps)
	goal=""
	[ "$f" = zpl ] && goal=" (goal >= 3x PDF and >= 1500/s, <= 12 KB)"
	echo "single $f: $rps labels/s  p50 $(echo "$out" | field p50_ms) ms  p99 $(echo "$out" | field p99_ms) ms  errors $(echo "$out" | field errors)  $fsize bytes (first), $avg bytes per label (100)$goal"
	echo "  = $(ratio "$rps" "$pdf_single")x the single PDF rate"
done
out=$(WB_TOKEN=$depot WB_TNS=$dir/tns WB_BATCH=100 WB_FORMAT=zpl wrk -t2 -c4 -d"${SECS}s" \
	-s tests/bench/print_labels.lua "http://127.0.0.1:$port" | grep RESULT)
rps=$(echo "$out" | field rps)
labels=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r * 100 }')
echo "batch of 100 zpl: $labels labels/s  p50 $(echo "$out" | field p50_ms) ms per request  errors $(echo "$out" | field errors) (goal >= 5000/s)"
