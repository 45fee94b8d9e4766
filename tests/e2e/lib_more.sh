# tests/e2e/lib_more.sh - helpers for 60-labels, 70-calls, 80-admin and
# 90-retention-keys.  Source it after lib.sh (it uses DIR, URL, TOK, api, bulk).
#
# Orders:   post_fixtures TOKEN OUT IDX...   POST those fixture lines in parallel;
#                                            "IDX TN CODE" lines in OUT (TN "-" on failure),
#                                            the answers in $PF_DIR/out/IDX.json
#           tn_of MAP IDX                    the TN of fixture IDX in a post_fixtures map
#           order_with JQ_FILTER [IDX]       fixture IDX (default 0) changed by a jq filter
#           set_status TOKEN TN STATUS...    walk the state machine; stops at a non-200
# PDFs:     get_pdf TOKEN PATH OUT           GET into OUT; $STATUS and $CTYPE
#           post_pdf TOKEN PATH JSON OUT     POST JSON, answer into OUT; $STATUS and $CTYPE
#           page_pts FILE [PAGE]             "W H" in points, from pdfinfo
#           mm_pts MM                        MM in points
#           tmpl_zone SIZE KIND              "X Y W H" (mm) of the first KIND zone of a template
# Personal data: pii_of JSONL OUT            grep -F patterns (lib's fixtures_pii) of those orders
#           phone_forms [PHONE...]           every notation of those phones (or of stdin's)
#           grep_pii NAME PATTERNS FILE...   none of the patterns in the raw bytes
# Other:    metric NAME                      a value from /metrics
#           wait_until SECS CMD...           poll CMD every 0.2 s; 0 when it succeeded
#           audit_export OUT [ARGS]          ctl audit export into OUT
#           elapsed                          seconds since this file was sourced

T_START=$(date +%s.%N)
CTYPE=

elapsed() {
	awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
}

post_fixtures() {
	local token=$1 out=$2 d
	shift 2
	d=$(mktemp -d "$DIR/pf.XXXXXX")
	PF_DIR=$d
	mkdir -p "$d/in"
	printf '%s\n' "$@" >"$d/want"
	awk -v d="$d/in" 'NR == FNR { want[$1 + 1] = 1; next }
		(FNR in want) { f = d "/" (FNR - 1) ".json"; print > f; close(f) }' "$d/want" "$FIXTURES"
	sed 's|$| /v1/orders|' "$d/want" | bulk POST "$token" "$d/out" "$d/in"
	(cd "$d/out" && jq -r '[(input_filename | rtrimstr(".json")), (.tracking_no // "-")] | @tsv' \
		./*.json 2>/dev/null) | sed 's|^\./||' >"$d/tns"
	# "IDX TN CODE", in the order given
	awk -F '[ \t]' 'FILENAME ~ /tns$/ { tn[$1] = $2; next }
		FILENAME ~ /codes$/ { code[$1] = $2; next }
		{ print $1, (($1 in tn) ? tn[$1] : "-"), (($1 in code) ? code[$1] : "000") }' \
		"$d/tns" "$d/out.codes" "$d/want" >"$out"
}

tn_of() {
	awk -v i="$2" '$1 == i { print $2; exit }' "$1"
}

order_with() {
	fixture "${2:-0}" | jq -c "$1"
}

set_status() {
	local token=$1 tn=$2 s
	shift 2
	for s in "$@"; do
		api POST "/v1/orders/$tn/status" "$token" -d "{\"status\":\"$s\"}"
		[ "$STATUS" = 200 ] || return 1
	done
}

get_pdf() {
	local token=$1 path=$2 out=$3 r
	r=$(curl -s -o "$out" -w '%{http_code} %{content_type}' --max-time 60 \
		-H "Authorization: Bearer $token" "$URL$path") || r="000 -"
	STATUS=${r%% *}
	CTYPE=${r#* }
	cp "$out" "$BODY" 2>/dev/null
	[ "$STATUS" != 000 ] || daemon_check
}

post_pdf() {
	local token=$1 path=$2 json=$3 out=$4 r
	printf '%s' "$json" >"$DIR/.post-pdf"
	r=$(curl -s -o "$out" -w '%{http_code} %{content_type}' --max-time 120 -X POST \
		-H "Authorization: Bearer $token" -H "Content-Type: application/json" \
		--data-binary "@$DIR/.post-pdf" "$URL$path") || r="000 -"
	STATUS=${r%% *}
	CTYPE=${r#* }
	cp "$out" "$BODY" 2>/dev/null
	[ "$STATUS" != 000 ] || daemon_check
}

page_pts() {
	pdfinfo -f "${2:-1}" -l "${2:-1}" "$1" 2>/dev/null |
		awk '/^Page +[0-9]+ size:/ || /^Page size:/ { for (i = 1; i <= NF; i++) if ($i == "x") { print $(i - 1), $(i + 1); exit } }'
}

mm_pts() {
	awk -v m="$1" 'BEGIN { printf "%.3f\n", m * 72 / 25.4 }'
}

tmpl_zone() {
	awk -v k="$2" '$1 == "zone" && $2 == k { print $3, $4, $5, $6; exit }' "$ROOT/templates/$1.tmpl"
}

pii_of() {
	FIXTURES=$1 fixtures_pii "$2"
}

# phone_forms [PHONE...]: E.164, digits, national (with and without the trunk
# 0), and for mainland mobiles the spaced and dashed forms; of the arguments,
# or of the phones on stdin (one a line) when there are none.
phone_forms() {
	{ if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi; } | jq -rR '
	  . as $p | ($p | gsub("[^0-9]"; "")) as $d
	  | (if ($p | test("^\\+")) then ($d | ltrimstr("86"))
	     elif ($d | test("^0")) then ($d | ltrimstr("0")) else $d end) as $n
	  | $p, $d, $n, ("+86" + $n), ("86" + $n), ("0" + $n),
	    (if ($n | length) == 11 and ($n | test("^1")) then
	       ($n[0:3] + " " + $n[3:7] + " " + $n[7:11]),
	       ($n[0:3] + "-" + $n[3:7] + "-" + $n[7:11]),
	       ("+86 " + $n[0:3] + " " + $n[3:7] + " " + $n[7:11]),
	       ("+86-" + $n[0:3] + "-" + $n[3:7] + "-" + $n[7:11])
	     else empty end)' | sort -u
}

grep_pii() {
	local name=$1 pats=$2 f hits
	shift 2
	for f in "$@"; do
		hits=$(LC_ALL=C grep -a -o -F -f "$pats" "$f" 2>/dev/null | sort -u | head -n 5 | tr '\n' ' ')
		if [ -z "$hits" ]; then
			ok "$name: $(basename "$f") clean"
		else
			fail "$name: $(basename "$f")" "personal data in raw bytes: $hits"
		fi
	done
}

metric() {
	curl -s --max-time 10 "$URL/metrics" | awk -v n="$1" '$1 == n { print $2; exit }'
}

wait_until() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}

audit_export() {
	local out=$1
	shift
	ctl audit export "$@" >"$out" 2>"$out.err"
}
