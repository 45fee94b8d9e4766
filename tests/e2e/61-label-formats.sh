#!/bin/sh
# 61-label-formats: labels as PNG, ZPL and TSPL from the raster canvas (docs/API.md
# "Labels").  In bulk without the daemon (build/tests/label_sample): every fixture
# order as PNG at 203 and 300 dpi, both barcodes decoded back to the tracking number
# (zbarimg), no personal data in any output's bytes; OCR of the sort zone on a sample
# (the sort code and hub, or the destination); ZPL drawn by a renderer nobody here
# wrote (zpl-renderer-js) decoded and compared dot for dot with our PNG; TSPL's BITMAP
# read back into an image and decoded.  Over HTTP: each format's content type and
# bytes, unknown parameters and values answered 400 with no print spent and nothing
# audited, PNG batches refused, the preview audited and spending no print.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

for t in zbarimg tesseract node python3; do
	command -v "$t" >/dev/null || { fail "tools" "$t is not installed"; finish; }
done
SAMPLE=$ROOT/${BUILD:-build}/tests/label_sample
[ -x "$SAMPLE" ] || { fail "tools" "no $SAMPLE: make $(basename "$(dirname "$(dirname "$SAMPLE")")")/tests/label_sample"; finish; }
[ -d "$ROOT/node_modules/zpl-renderer-js" ] || { fail "tools" "no node_modules/zpl-renderer-js: npm ci"; finish; }
IMG="python3 $E2E_DIR/label_img.py"
export OMP_THREAD_LIMIT=1

start_daemon
fixtures_pii "$DIR/pii"
L=$DIR/labels
mkdir -p "$L"
NFIX=$(wc -l <"$FIXTURES")

# ---- every fixture, PNG at 203 and 300 dpi, without the daemon -------------------
# Sizes take turns (fixture i at size i mod 3), so all three are covered at both dpis.
SIZES=(100x150 100x180 76x130)
: >"$L/expect"
for s in 0 1 2; do
	first=$(((NFIX * s) / 3))
	count=$(((NFIX * (s + 1)) / 3 - first))
	for dpi in 203 300; do
		"$SAMPLE" -S -s "${SIZES[$s]}" -F png -d "$dpi" -i "$first" -n "$count" \
			-o "$L/p$dpi-${SIZES[$s]}-" -v >"$L/v$dpi-$s" ||
			fail "label_sample png ${SIZES[$s]} $dpi dpi" "exit $?"
		awk -v p="$L/p$dpi-${SIZES[$s]}-" -F '\t' '{ printf "%s%04d.png\t%s\n", p, NR - 1, $1 }' \
			"$L/v$dpi-$s" >>"$L/expect"
	done
done
echo "# rendered: $(elapsed) s"
check "bulk: $((NFIX * 2)) PNG labels rendered" test "$(wc -l <"$L/expect")" -eq $((NFIX * 2))

# Each PNG: 1-bit, the dpi in pHYs, the page's size in dots.
bad_hdr=0
for s in 0 1 2; do
	for dpi in 203 300; do
		f=$(ls "$L/p$dpi-${SIZES[$s]}-"*.png | head -n 1)
		read -r w h depth pdpi <<<"$($IMG info "$f")"
		ww=$(awk -v m="${SIZES[$s]%x*}" -v d="$dpi" 'BEGIN { printf "%d", m / 25.4 * d + 0.5 }')
		hh=$(awk -v m="${SIZES[$s]#*x}" -v d="$dpi" 'BEGIN { printf "%d", m / 25.4 * d + 0.5 }')
		if [ "$w $h $depth $pdpi" != "$ww $hh 1 $dpi" ]; then
			bad_hdr=$((bad_hdr + 1))
			echo "  ${SIZES[$s]} $dpi: got $w x $h, $depth bit, $pdpi dpi; want $ww x $hh, 1 bit, $dpi dpi"
		fi
	done
done
check "PNG: 1-bit, pHYs dpi, page size in dots, every size at 203 and 300" test "$bad_hdr" -eq 0

# zbarimg over all of them (two processes), Code 128 and QR only.
cut -f1 "$L/expect" >"$L/list"
split -n l/2 "$L/list" "$L/list."
zpids=()
for part in "$L"/list.??; do
	xargs zbarimg -q --xml -Sdisable -Scode128.enable -Sqrcode.enable <"$part" >"$part.xml" 2>/dev/null &
	zpids+=($!)
done
wait "${zpids[@]}" # not a bare wait: the daemon is a child too
cat "$L"/list.*.xml >"$L/zbar.xml"
$IMG zbar "$L/zbar.xml" "$L/expect" >"$L/zbar.out"
check "zbarimg: Code 128 and QR = the tracking number on all $((NFIX * 2)) PNGs ($(tail -n 1 "$L/zbar.out"))" \
	test "$(tail -n 1 "$L/zbar.out")" = "decoded $((NFIX * 2)) of $((NFIX * 2))"
head -n 3 "$L/zbar.out" | grep -v '^decoded' | sed 's/^/  /'

echo "# decoded: $(elapsed) s"
# No personal data in any output's bytes (PNG, and ZPL / TSPL of every fixture).
for dpi in 203 300; do
	cat "$L/p$dpi-"*.png >"$L/all-$dpi.png.bytes"
	"$SAMPLE" -S -F zpl -d "$dpi" -n "$NFIX" -o "$L/all-$dpi.zpl" || fail "label_sample zpl $dpi"
	"$SAMPLE" -S -F tspl -d "$dpi" -n "$NFIX" -o "$L/all-$dpi.tspl" || fail "label_sample tspl $dpi"
done
no_pii "bulk outputs" "$L"/all-*.png.bytes "$L"/all-*.zpl "$L"/all-*.tspl

# ---- OCR of the sort zone, cropped and enlarged --------------------------------
# With a sort code: the code (its line alone, eng: letters and digits, at most one
# wrong) and the hub's city (its line alone, chi_sim); without: the destination
# (chi_sim: province, city, district, nearly all characters).
OCR_IDX="0 9 128 5 90 58"
zone_dots() { # SIZE KIND DPI -> x y w h in dots
	tmpl_zone "$1" "$2" | awk -v d="$3" '{ k = d / 25.4; printf "%d %d %d %d", $1 * k, $2 * k, $3 * k, $4 * k }'
}
: >"$L/ocr.tsv"
for i in $OCR_IDX; do
	"$SAMPLE" -S -F png -i "$i" -o "$L/o$i.png" -v >"$L/o$i.v"
	"$SAMPLE" -F png -i "$i" -o "$L/r$i.png"
	# the sort code's line, and the hub name's under it (the lower third), each alone
	read -r zx zy zw zh <<<"$(zone_dots 100x150 sort 203)"
	$IMG crop "$L/o$i.png" "$zx" "$zy" "$zw" $((zh * 64 / 100)) 3 "$L/o$i.pgm"
	$IMG crop "$L/o$i.png" "$zx" $((zy + zh * 62 / 100)) "$zw" $((zh * 38 / 100)) 4 "$L/h$i.pgm"
	# shellcheck disable=SC2046
	$IMG crop "$L/r$i.png" $(zone_dots 100x150 sort 203) 3 "$L/r$i.pgm"
	code=$(tesseract "$L/o$i.pgm" - -l eng --psm 7 2>/dev/null | tr '\n' ' ')
	code="$code $(tesseract "$L/h$i.pgm" - -l chi_sim --psm 7 2>/dev/null | tr '\n' ' ')"
	dest=$(tesseract "$L/r$i.pgm" - -l chi_sim --psm 7 2>/dev/null | tr '\n' ' ')
	fix=$(fixture "$i" | jq -r '.recipient | [.province, .city, .district] | @tsv')
	printf '%s\t%s\t%s\t%s\t%s\n' "$i" "$(cut -f4 "$L/o$i.v")" "$fix" "$code" "$dest" >>"$L/ocr.tsv"
done
python3 - "$L/ocr.tsv" >"$L/ocr.out" <<'EOF'
import re, sys
def lev(a, b):
    d = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        p, d[0] = d[0], i
        for j, cb in enumerate(b, 1):
            p, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, p + (ca != cb))
    return d[-1]
def near(want, text):  # want within one edit of some part of text
    return any(lev(want, text[k:k + n]) <= 1 for n in (len(want) - 1, len(want), len(want) + 1)
               for k in range(max(1, len(text) - n + 1)))
good = codes = 0
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
for i, sort, prov, city, dist, code, dest in rows:
    alnum = re.sub(r'[^0-9A-Z]', '', code.upper())
    cjk = re.sub(r'\s', '', code + dest)
    region = prov + (city if city != prov else '') + dist
    found = sum(1 for c in region if c in re.sub(r'\s', '', dest))
    ok_code = near(re.sub(r'[^0-9A-Z]', '', sort), alnum)
    ok_hub = city[:2] in re.sub(r'\s', '', code)
    ok_dest = found >= 0.8 * len(region) and dist[:2] in re.sub(r'\s', '', dest)
    good += ok_hub and ok_dest
    codes += ok_code
    print('%s sort %s: %s%s%s | ocr %r / %r' % (i, sort, 'code ' if ok_code else 'CODE? ',
          'hub ' if ok_hub else 'HUB? ', 'dest' if ok_dest else 'DEST?', code, dest))
print('codes %d of %d' % (codes, len(rows)))
print('ocr %d of %d' % (good, len(rows)))
EOF
sed 's/^/  /' "$L/ocr.out" | head -n 6
# The sort code is the largest type: read on every sample.  The hub name (small) and
# the region: 1-bit glyphs at 203 dpi mislead OCR now and then (镇江 read 铝江), so
# five of six.
check "OCR of the sort zone: the sort code on all 6 ($(tail -n 2 "$L/ocr.out" | head -n 1))" \
	test "$(tail -n 2 "$L/ocr.out" | head -n 1)" = "codes 6 of 6"
check "OCR (chi_sim) of the sort zone: hub city and destination on 5 of 6 at least ($(tail -n 1 "$L/ocr.out"))" \
	awk '$1 == "ocr" && $2 >= 5 && $4 == 6 { found = 1 } END { exit !found }' "$L/ocr.out"

echo "# OCR: $(elapsed) s"
# ---- ZPL: structure, then zpl-renderer-js -------------------------------------
z=$L/all-203.zpl
check "ZPL: one ^XA..^XZ, one ^GFA (Z64) per label, for $NFIX labels" \
	test "$(grep -c '^\^XA$' "$z") $(grep -c '^\^XZ$' "$z") $(grep -c '\^GFA,[0-9]*,[0-9]*,[0-9]*,:Z64:' "$z")" = "$NFIX $NFIX $NFIX"
check "ZPL: ^PW/^LL of 100x150 at 203 dpi (799 x 1199 dots)" \
	test "$(sed -n '2,3p' "$z" | tr '\n' ' ')" = "^PW799 ^LL1199 "
# zr.js ROOT JOBS: each line of JOBS "FILE W_MM H_MM DOTS_PER_MM OUTPREFIX"; prints
# "OUTPREFIX N" (labels rendered) per job.
cat >"$L/zr.js" <<'EOF'
const fs = require('fs');
const { ready } = require(process.argv[2] + '/node_modules/zpl-renderer-js');
(async () => {
	const { api } = await ready;
	for (const job of fs.readFileSync(process.argv[3], 'utf8').trim().split('\n')) {
		const [file, w, h, dpmm, out] = job.split(' ');
		const pngs = await api.zplToBase64MultipleAsync(fs.readFileSync(file, 'latin1'), +w, +h, +dpmm);
		pngs.forEach((b, i) => fs.writeFileSync(out + String(i).padStart(4, '0') + '.png', Buffer.from(b, 'base64')));
		console.log(out, pngs.length);
	}
	process.exit(0);
})().catch((e) => { console.error(String(e)); process.exit(1); });
EOF
# A sample of each size at 203 dpi (8 dots/mm) and at 300 (12 dots/mm: the renderer's
# canvas is 304.8 dpi; our graphic is placed in dots, so it lines up from the corner).
: >"$L/zr.expect"
: >"$L/zr.diff"
: >"$L/zr.jobs"
for s in 100x150 100x180 76x130; do
	for dpi in 203 300; do
		dpmm=$([ "$dpi" = 203 ] && echo 8 || echo 12)
		"$SAMPLE" -S -s "$s" -F zpl -d "$dpi" -i 40 -n 3 -o "$L/z-$s-$dpi.zpl" -v >"$L/z-$s-$dpi.v"
		"$SAMPLE" -S -s "$s" -F png -d "$dpi" -i 40 -n 3 -o "$L/zo-$s-$dpi-"
		echo "$L/z-$s-$dpi.zpl ${s%x*} ${s#*x} $dpmm $L/zr-$s-$dpi-" >>"$L/zr.jobs"
		awk -v p="$L/zr-$s-$dpi-" -F '\t' '{ printf "%s%04d.png\t%s\n", p, NR - 1, $1 }' "$L/z-$s-$dpi.v" >>"$L/zr.expect"
	done
done
node "$L/zr.js" "$ROOT" "$L/zr.jobs" >"$L/zr.n" 2>"$L/zr.err"
check "zpl-renderer-js: 3 labels from each of the 6 ZPL documents ($(head -c 200 "$L/zr.err"))" \
	test "$(awk '$2 == 3' "$L/zr.n" | wc -l)" = 6
for s in 100x150 100x180 76x130; do
	for dpi in 203 300; do
		for k in 0000 0001 0002; do
			[ -f "$L/zr-$s-$dpi-$k.png" ] && echo "$s $dpi $k $($IMG diff "$L/zo-$s-$dpi-$k.png" "$L/zr-$s-$dpi-$k.png")" >>"$L/zr.diff"
		done
	done
done
cut -f1 "$L/zr.expect" | xargs zbarimg -q --xml -Sdisable -Scode128.enable -Sqrcode.enable >"$L/zr.xml" 2>/dev/null
$IMG zbar "$L/zr.xml" "$L/zr.expect" >"$L/zr.out"
check "zpl-renderer-js: our ZPL renders, zbarimg decodes both codes ($(tail -n 1 "$L/zr.out"))" \
	test "$(tail -n 1 "$L/zr.out")" = "decoded 18 of 18"
awk '{ printf "  %s %s dpi label %s: %d of %d ink dots differ (%.2f%%)\n", $1, $2, $3, $4, $5, 100 * $4 / ($5 + !$5) }' "$L/zr.diff" | awk 'NR % 3 == 1'
check "zpl-renderer-js: its pixels match our PNG within 2% of the ink, 18 labels" \
	awk 'NF != 5 || $5 == 0 || $4 / $5 > 0.02 { bad = 1 } END { exit bad || NR != 18 }' "$L/zr.diff"

# ---- TSPL: the BITMAP read back into an image ---------------------------------
"$SAMPLE" -S -s 100x180 -F tspl -d 300 -i 70 -n 3 -o "$L/t.tspl" -v >"$L/t.v"
"$SAMPLE" -S -s 76x130 -F tspl -d 203 -i 73 -n 3 -o "$L/t2.tspl" -v >"$L/t2.v"
$IMG tspl "$L/t.tspl" "$L/t-" >"$L/t.sizes" 2>"$L/t.err" && $IMG tspl "$L/t2.tspl" "$L/t2-" >>"$L/t.sizes" 2>>"$L/t.err"
check "TSPL: SIZE, GAP, CLS, BITMAP, PRINT 1 per label, nothing else ($(head -c 120 "$L/t.err"))" test ! -s "$L/t.err"
check "TSPL: the bitmaps are the pages' size in dots" \
	test "$(awk '{ print $2, $3 }' "$L/t.sizes" | sort | uniq -c | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" = "3 1181 2126 3 607 1039 "
{
	awk -v p="$L/t-" -F '\t' '{ printf "%s%04d.pgm\t%s\n", p, NR - 1, $1 }' "$L/t.v"
	awk -v p="$L/t2-" -F '\t' '{ printf "%s%04d.pgm\t%s\n", p, NR - 1, $1 }' "$L/t2.v"
} >"$L/t.expect"
cut -f1 "$L/t.expect" | xargs zbarimg -q --xml -Sdisable -Scode128.enable -Sqrcode.enable >"$L/t.xml" 2>/dev/null
$IMG zbar "$L/t.xml" "$L/t.expect" >"$L/t.out"
check "TSPL: zbarimg decodes both codes from the bitmaps ($(tail -n 1 "$L/t.out"))" \
	test "$(tail -n 1 "$L/t.out")" = "decoded 6 of 6"

echo "# bulk and renderers: $(elapsed) s"

# ---- over HTTP -----------------------------------------------------------------
post_fixtures "${TOK[c1]}" "$DIR/map" 0 1 2 3 4 5 6 7 8 9
check "setup: 10 orders (201)" awk '$3 != 201 { exit 1 }' "$DIR/map"
T=()
for i in 0 1 2 3 4 5 6 7 8 9; do T[$i]=$(tn_of "$DIR/map" "$i"); done
prints() { # TN: its print count, from c1's order list (the summary carries it)
	api GET "/v1/orders?limit=200" "${TOK[c1]}" && jb --arg t "$1" '.orders[] | select(.tracking_no == $t) | .prints'
}
printed0=$(metric waybill_labels_printed_total)

fmt_ok() { # FILE FORMAT: the bytes are that format
	case $2 in
	pdf) [ "$(head -c 5 "$1")" = "%PDF-" ] ;;
	png) [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ;;
	zpl) [ "$(head -n 1 "$1")" = "^XA" ] && [ "$(tail -n 1 "$1")" = "^XZ" ] ;;
	tspl) [ "$(head -c 9 "$1")" = "SIZE 100 " ] && [ "$(tail -c 9 "$1" | od -An -c | tr -d ' \n')" = 'PRINT1\r\n' ] ;;
	esac
}
k=0
for f in pdf:application/pdf png:image/png zpl:application/vnd.zebra-zpl tspl:application/vnd.tsc-tspl; do
	fmt=${f%%:*} ct=${f#*:}
	for dpi in 203 300; do
		[ "$fmt" = pdf ] && [ "$dpi" = 300 ] && continue
		tn=${T[$k]}
		get_pdf "${TOK[c1]}" "/v1/orders/$tn/label?format=$fmt&dpi=$dpi" "$L/h.$fmt.$dpi"
		expect_status "GET label?format=$fmt&dpi=$dpi: 200" 200 "$STATUS"
		check "GET label?format=$fmt&dpi=$dpi: Content-Type $ct" test "$CTYPE" = "$ct"
		check "GET label?format=$fmt&dpi=$dpi: $fmt bytes" fmt_ok "$L/h.$fmt.$dpi" "$fmt"
		check "GET label?format=$fmt&dpi=$dpi: one print spent" test "$(prints "$tn")" = 1
		k=$((k + 1))
	done
done
check "GET label?format=png: zbarimg reads the tracking number" \
	sh -c "zbarimg -q --raw '$L/h.png.300' 2>/dev/null | grep -qx '${T[2]}'"
check "GET label?format=zpl&dpi=300: ^PW1181 ^LL1772" grep -q '^\^PW1181$' "$L/h.zpl.300"
get_pdf "${TOK[dep1]}" "/v1/orders/${T[7]}/label.pdf?size=76x130" "$L/h.alias"
check "label.pdf alias: 200 application/pdf" test "$STATUS $CTYPE" = "200 application/pdf"
no_pii "HTTP outputs" "$L"/h.*

# Unknown parameters and values: 400, no print, nothing audited.  (Before, ?format=zpl
# returned a PDF and spent a print.)
tn=${T[8]}
audit_all "$DIR/a_before.json" "tracking_no=$tn"
for q in "format=zpl2" "format=ZPL" "format=" "dpi=600" "dpi=203.0" "dpi=0300" "foo=1" \
	"format=png&format=zpl" "size=100x150&SIZE=76x130" "format" "sort_code=1" "dpi=300&x=y"; do
	api GET "/v1/orders/$tn/label?$q" "${TOK[c1]}"
	expect_status "GET label?$q: 400" 400 "$STATUS"
done
api GET "/v1/orders/$tn/label.pdf?format=zpl" "${TOK[c1]}"
expect_error "label.pdf?format=zpl" 400 unknown_format format
api GET "/v1/orders/$tn/label?format=bmp" "${TOK[c1]}"
expect_error "label?format=bmp" 400 unknown_format format
api GET "/v1/orders/$tn/label?dpi=600" "${TOK[c1]}"
expect_error "label?dpi=600" 400 unknown_dpi dpi
api GET "/v1/orders/$tn/label?copies=2" "${TOK[c1]}"
expect_error "label?copies=2" 400 unknown_parameter
check "unknown parameters: no print spent" test "$(prints "$tn")" = 0
audit_all "$DIR/a_after.json" "tracking_no=$tn"
check "unknown parameters: nothing label.* audited for the order" \
	jq -e --slurpfile b "$DIR/a_before.json" '[.[] | select(.action | startswith("label"))] == [$b[0][] | select(.action | startswith("label"))]' "$DIR/a_after.json"

# POST /v1/labels: format and dpi in the body; PNG batches refused.
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${T[0]}\",\"${T[1]}\",\"${T[2]}\"],\"format\":\"zpl\",\"dpi\":300}" "$L/b.zpl"
check "POST labels zpl: 200 application/vnd.zebra-zpl" test "$STATUS $CTYPE" = "200 application/vnd.zebra-zpl"
check "POST labels zpl: 3 labels, ^XA..^XZ each" test "$(grep -c '^\^XA$' "$L/b.zpl") $(grep -c '^\^XZ$' "$L/b.zpl")" = "3 3"
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${T[3]}\",\"${T[4]}\"],\"format\":\"tspl\",\"size\":\"100x180\"}" "$L/b.tspl"
check "POST labels tspl: 200 application/vnd.tsc-tspl, 2 PRINT 1" \
	test "$STATUS $CTYPE $(grep -ac 'PRINT 1' "$L/b.tspl")" = "200 application/vnd.tsc-tspl 2"
for body in "\"format\":\"png\"" "\"format\":\"png\",\"dpi\":300"; do
	api POST /v1/labels "${TOK[dep1]}" -d "{\"tracking_nos\":[\"${T[8]}\",\"${T[9]}\"],$body}"
	expect_error "POST labels {$body} of 2" 400 png_batch format
done
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"${T[9]}\"],\"format\":\"png\"}" "$L/b.png"
check "POST labels png of 1: 200 image/png" test "$STATUS $CTYPE" = "200 image/png"
for body in "\"format\":\"ZPL\"" "\"dpi\":600" "\"dpi\":\"300\"" "\"format\":3" "\"dpi\":203.5"; do
	api POST /v1/labels "${TOK[dep1]}" -d "{\"tracking_nos\":[\"${T[8]}\"],$body}"
	expect_status "POST labels {$body}: 400" 400 "$STATUS"
done
check "refused batches: no print spent" test "$(prints "${T[8]}")" = 0

# The preview: PNG at 203 dpi, audited, no print spent or counted; HEAD refused.
printed1=$(metric waybill_labels_printed_total)
get_pdf "${TOK[c1]}" "/v1/orders/${T[8]}/preview.png" "$L/pv.png"
check "preview: 200 image/png" test "$STATUS $CTYPE" = "200 image/png"
check "preview: 1-bit, 203 dpi" test "$($IMG info "$L/pv.png" | cut -d' ' -f3-)" = "1 203"
check "preview: zbarimg reads the tracking number" \
	sh -c "zbarimg -q --raw '$L/pv.png' 2>/dev/null | grep -qx '${T[8]}'"
get_pdf "${TOK[dep1]}" "/v1/orders/${T[8]}/preview.png?size=76x130" "$L/pv2.png"
check "preview as the depot, size=76x130: 200 image/png" test "$STATUS $CTYPE" = "200 image/png"
no_pii "preview" "$L/pv.png" "$L/pv2.png"
check "preview: no print spent" test "$(prints "${T[8]}")" = 0
check "preview: not counted as a print" test "$(metric waybill_labels_printed_total)" = "$printed1"
audit_all "$DIR/a_pv.json" "tracking_no=${T[8]}"
check "preview: audited as label.preview, ok, naming the order, twice" \
	jq -e --arg t "${T[8]}" '[.[] | select(.action == "label.preview" and .result == "ok" and .tracking_no == $t)] | length == 2' "$DIR/a_pv.json"
api GET "/v1/orders/${T[8]}/preview.png" "${TOK[c3]}"
expect_status "preview as another depot's courier: 404" 404 "$STATUS"
api GET "/v1/orders/${T[8]}/preview.png" "${TOK[dep2]}"
expect_status "preview as another depot: 404" 404 "$STATUS"
api GET "/v1/orders/${T[8]}/preview.png" "${TOK[aud1]}"
expect_status "preview as the auditor: 403" 403 "$STATUS"
api GET "/v1/orders/${T[8]}/preview.png?format=zpl" "${TOK[c1]}"
expect_error "preview?format=zpl" 400 unknown_parameter
for p in "/v1/orders/${T[8]}/preview.png" "/v1/orders/${T[8]}/label?format=zpl"; do
	r=$(curl -s -o /dev/null -w '%{http_code}' -I --max-time 10 -H "Authorization: Bearer ${TOK[c1]}" "$URL$p")
	check "HEAD $p: 405" test "$r" = 405
done
audit_all "$DIR/a_pv2.json" "tracking_no=${T[8]}"
check "HEAD and refused previews: no label.preview entry of theirs ok" \
	jq -e '[.[] | select(.action == "label.preview" and .result == "ok")] | length == 2' "$DIR/a_pv2.json"
check "prints counted: 7 single labels, 3 + 2 + 1 in batches, 1 by label.pdf" \
	test "$(metric waybill_labels_printed_total)" = "$((printed0 + 14))"

echo "# run time $(elapsed) s"
stop_daemon
finish
