#!/bin/sh
# 60-labels: masked PDF waybills (docs/API.md "Labels").  Single labels in every
# size for a sample of fixture orders: PDF validity, page size, both barcodes,
# OCR of the recipient zone, no personal data in text, bytes or metadata, no
# active content.  Batches: order of pages, all-or-nothing on a foreign or
# invalid number, limits.  Reprint limit and its audit, who may print, and
# hostile names and addresses.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_more.sh"

for t in qpdf pdfinfo pdftoppm pdftotext zbarimg tesseract; do
	command -v "$t" >/dev/null || { fail "tools" "$t is not installed"; finish; }
done

start_daemon
fixtures_pii "$DIR/pii"
L=$DIR/labels
mkdir -p "$L"
SIZES="100x150 100x180 76x130"
# A compound surname, "·" names, Latin names, landline recipients, the
# longest address, a "+86" phone:
#   0 阿卜杜拉·买买提 188-0636-0837   9 慕容涵          128 欧阳辉 +86...
#   5 Maria Garcia                    2 武军强 024-...   90 the longest address
#  58 Anna-Lena Schmidt              87 古丽娜扎·艾力 024-...
SAMPLE="0 9 128 5 2 90 58 87"
BATCH_IDX=$(seq 200 299)

post_fixtures "${TOK[c1]}" "$DIR/map" $SAMPLE $BATCH_IDX 300 301 302
VIEWS=$PF_DIR/out
check "setup: 111 orders created (201)" awk '$3 != 201 { exit 1 }' "$DIR/map"

# ---- single labels: every sample order in every size ------------------------------

# analyze.sh "PDF<TAB>OUT<TAB>DPI[<TAB>MASKED_PHONE<TAB>MASKED_NAME_FIRST_WORD<TAB>ZONE_MM]":
# page image at DPI and its barcodes; with the masked fields, OCR:
#   OUT.zone.ocr  the whole recipient zone (chi_sim), for the record;
#   OUT.phone.ocr the right 35% and 42% of the masked phone's box (eng, one
#                 line each: asterisk fragments at the crop's edge mislead OCR);
#   OUT.name.ocr  the first character's square of the masked name (one glyph).
# The text layer (pdftotext -bbox) says where a word is; OCR says what the
# rasterised glyphs there look like.
cat >"$DIR/analyze.sh" <<'EOF'
IFS=$'\t' read -r pdf out dpi phone name zone <<<"$1"
pdftoppm -r "$dpi" -png -singlefile "$pdf" "$out.page" 2>/dev/null
zbarimg -q "$out.page.png" >"$out.zbar" 2>/dev/null
rm -f "$out.page.png"
[ -n "$phone" ] || exit 0
export OMP_THREAD_LIMIT=1
crop() { # crop PNG_BASE X Y W H (pixels)
	pdftoppm -r "$dpi" -png -singlefile -x "$2" -y "$3" -W "$4" -H "$5" "$pdf" "$1" 2>/dev/null
}
read -r x y w h <<<"$zone"
crop "$out.zone" $(awk -v d="$dpi" -v x="$x" -v y="$y" -v w="$w" -v h="$h" \
	'BEGIN { k = d / 25.4; printf "%d %d %d %d", x * k, y * k, w * k, h * k }')
tesseract "$out.zone.png" - -l chi_sim >"$out.zone.ocr" 2>/dev/null
pdftotext -bbox "$pdf" "$out.bbox" 2>/dev/null
# box WORD SIDE [FRACTION]: pixels of the right FRACTION (SIDE r, 6 pt margin)
# or of the first em square (SIDE l, 4 pt across, 1 pt up and down) of WORD's box
box() {
	awk -F '"' -v w="$1" -v side="$2" -v fr="${3:-1}" -v d="$dpi" 'index($0, ">" w "</word>") {
		x0 = $2; y0 = $4; x1 = $6; y1 = $8
		if (side == "r") { x0 = x1 - (x1 - x0) * fr; mx = 6; my = 6 }
		else { if (x0 + (y1 - y0) < x1) x1 = x0 + (y1 - y0); mx = 4; my = 1 }
		k = d / 72
		printf "%d %d %d %d\n", (x0 - mx) * k, (y0 - my) * k, (x1 - x0 + 2 * mx) * k, (y1 - y0 + 2 * my) * k
		exit }' "$out.bbox"
}
: >"$out.phone.ocr"
for fr in 0.35 0.42; do
	b=$(box "$phone" r "$fr")
	[ -n "$b" ] && crop "$out.phone" $b &&
		tesseract "$out.phone.png" - -l eng --psm 7 2>/dev/null | tr -d ' ' >>"$out.phone.ocr"
done
case $name in [A-Za-z]*) lang=eng ;; *) lang=chi_sim ;; esac
b=$(box "$name" l)
[ -n "$b" ] && crop "$out.name" $b && tesseract "$out.name.png" - -l "$lang" --psm 10 >"$out.name.ocr" 2>/dev/null
rm -f "$out".*.png
exit 0
EOF

: >"$DIR/jobs"
for i in $SAMPLE; do
	tn=$(tn_of "$DIR/map" "$i")
	mphone=$(jq -r .recipient.phone "$VIEWS/$i.json")
	mname=$(jq -r '.recipient.name | split(" ")[0]' "$VIEWS/$i.json")
	for s in $SIZES; do
		f=$L/$i-$s
		get_pdf "${TOK[dep1]}" "/v1/orders/$tn/label.pdf?size=$s" "$f.pdf"
		if [ "$STATUS" = 200 ] && [ "${CTYPE%%;*}" = application/pdf ]; then
			ok "label $i $s: 200 application/pdf"
		else
			fail "label $i $s: 200 application/pdf" "got $STATUS $CTYPE"
			continue
		fi
		printf '%s\t%s\t300\t%s\t%s\t%s\n' "$f.pdf" "$f" "$mphone" "$mname" "$(tmpl_zone "$s" recipient)" >>"$DIR/jobs"
	done
done
# the heavy part (rasterise, decode, OCR) in parallel
NPROC=$(nproc 2>/dev/null || echo 2)
xargs -d '\n' -n 1 -P "$NPROC" bash "$DIR/analyze.sh" <"$DIR/jobs"

: >"$DIR/all.txt"
: >"$DIR/all.qdf"
: >"$DIR/all.info"
OCR_NAME=0 OCR_PHONE=0 OCR_N=0
for i in $SAMPLE; do
	tn=$(tn_of "$DIR/map" "$i")
	rname=$(jq -r .recipient.name "$VIEWS/$i.json")
	first=${rname:0:1}
	last4=$(jq -r .recipient.phone "$VIEWS/$i.json" | grep -o '[0-9]*$')
	want4=$(fixture "$i" | jq -r '.recipient.phone | gsub("[^0-9]"; "") | .[-4:]')
	[ "$last4" = "$want4" ] || fail "label $i: view shows the phone's last 4" "view $last4, fixture $want4"
	for s in $SIZES; do
		f=$L/$i-$s
		[ -s "$f.pdf" ] || continue
		check "label $i $s: qpdf --check" qpdf --check "$f.pdf"
		read -r w h <<<"$(page_pts "$f.pdf")"
		ww=$(mm_pts "${s%x*}") wh=$(mm_pts "${s#*x}")
		if awk -v a="$w" -v b="$h" -v c="$ww" -v d="$wh" \
			'BEGIN { exit !(a - c < 1 && c - a < 1 && b - d < 1 && d - b < 1) }'; then
			ok "label $i $s: page is ${s} mm ($w x $h pt)"
		else
			fail "label $i $s: page size" "got $w x $h pt, want $ww x $wh"
		fi
		check "label $i $s: one page" grep -Eq '^Pages: +1$' <(pdfinfo "$f.pdf" 2>/dev/null)
		check "label $i $s: CODE-128 decodes to the tracking number" grep -qx "CODE-128:$tn" "$f.zbar"
		check "label $i $s: QR code decodes to the tracking number" grep -qx "QR-Code:$tn" "$f.zbar"
		check "label $i $s: nothing else is encoded" awk -v t="$tn" '$0 !~ (":" t "$") { exit 1 }' "$f.zbar"
		# OCR: the whole zone is measured only; the located glyphs are asserted
		OCR_N=$((OCR_N + 1))
		grep -qF "$last4" "$f.zone.ocr" && OCR_PHONE=$((OCR_PHONE + 1))
		grep -qF "$first" "$f.zone.ocr" && OCR_NAME=$((OCR_NAME + 1))
		check "label $i $s: OCR reads the phone's last 4 ($last4) where the text layer puts the masked phone (one of 2 crops)" \
			grep -qF "$last4" "$f.phone.ocr"
		check "label $i $s: OCR reads the masked name's first character ($first)" \
			bash -c 'tr -d " \n" <"$1" | sed "s/^[][|(){}<>!,.:;_~-]*//" | grep -q "^$2"' _ "$f.name.ocr" "$first"
		# text layer: the tracking number and the masked fields, nothing more
		pdftotext -enc UTF-8 "$f.pdf" "$f.txt" 2>/dev/null
		check "label $i $s: text holds the tracking number" grep -qF "$tn" "$f.txt"
		check "label $i $s: text holds the masked name and phone" \
			grep -qF -e "$(jq -r .recipient.phone "$VIEWS/$i.json")" "$f.txt"
		cat "$f.txt" >>"$DIR/all.txt"
		qpdf --qdf --object-streams=disable "$f.pdf" "$f.qdf" 2>/dev/null
		cat "$f.qdf" >>"$DIR/all.qdf"
		{ pdfinfo "$f.pdf"; pdfinfo -meta "$f.pdf"; } >>"$DIR/all.info" 2>/dev/null
		if LC_ALL=C grep -a -q -E '/JavaScript|/JS[^A-Za-z]|/OpenAction|/URI|/Launch|/AA[^A-Za-z]|/EmbeddedFile|/SubmitForm' "$f.qdf" "$f.pdf"; then
			fail "label $i $s: no active content" \
				"$(LC_ALL=C grep -a -o -E '/JavaScript|/JS[^A-Za-z]|/OpenAction|/URI|/Launch|/AA[^A-Za-z]|/EmbeddedFile|/SubmitForm' "$f.qdf" | sort -u | tr '\n' ' ')"
		else
			ok "label $i $s: no /JavaScript /JS /OpenAction /URI /Launch /AA"
		fi
	done
done
echo "# OCR of the whole recipient zone (chi_sim, 300 dpi), measured only: last 4 digits" \
	"$OCR_PHONE/$OCR_N, first name character $OCR_NAME/$OCR_N"
no_pii "single labels: pdftotext" "$DIR/all.txt"
no_pii "single labels: uncompressed PDF objects" "$DIR/all.qdf"
no_pii "single labels: raw PDF bytes" "$L"/*.pdf
no_pii "single labels: pdfinfo and XMP metadata" "$DIR/all.info"
check "single labels: no title, author, subject or keywords" \
	bash -c '! grep -Eq "^(Title|Author|Subject|Keywords):" "$1"' _ "$DIR/all.info"
# the masked forms are what the label does print
for i in $SAMPLE; do
	m=$(jq -r .recipient.address "$VIEWS/$i.json")
	check "label $i: the masked address is on the label" grep -qF "${m:0:6}" "$DIR/all.txt"
done

# default size
tn=$(tn_of "$DIR/map" 301)
get_pdf "${TOK[dep1]}" "/v1/orders/$tn/label.pdf" "$L/default.pdf"
expect_status "label without size: 200" 200 "$STATUS"
read -r w h <<<"$(page_pts "$L/default.pdf")"
check "label without size: 100x150 mm" awk -v a="$w" -v b="$h" 'BEGIN { exit !(a > 282.5 && a < 284.5 && b > 424.2 && b < 426.2) }'
for bad in A4 100x151 100X150 100x150.tmpl ../templates/100x150 "100x150 "; do
	api GET "/v1/orders/$tn/label.pdf?size=$(jq -rn --arg s "$bad" '$s | @uri')" "${TOK[dep1]}"
	expect_error "label size '$bad': 422" 422 "" size
done

# ---- who may print ----------------------------------------------------------------

tn=$(tn_of "$DIR/map" 302)
get_pdf "${TOK[c1]}" "/v1/orders/$tn/label.pdf" "$L/c1.pdf"
expect_status "courier who created the order prints it" 200 "$STATUS"
check "courier's label is a PDF" qpdf --check "$L/c1.pdf"
for who in c2 c3 dep2; do
	api GET "/v1/orders/$tn/label.pdf" "${TOK[$who]}"
	expect_status "$who (not creator / other depot) prints: 404" 404 "$STATUS"
done
for who in adm1 aud1 tel1; do
	api GET "/v1/orders/$tn/label.pdf" "${TOK[$who]}"
	expect_status "$who prints: 403" 403 "$STATUS"
done
api GET "/v1/orders/$tn/label.pdf" -
expect_status "no token prints: 401" 401 "$STATUS"

# ---- batch --------------------------------------------------------------------

# the 100 batch orders, shuffled: pages must follow the request, not creation
for i in $BATCH_IDX; do tn_of "$DIR/map" "$i"; done | shuf --random-source=<(yes) >"$DIR/batch.tns"
jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: ., size: "100x150"}' >"$DIR/batch.json"
t0=$(date +%s.%N)
post_pdf "${TOK[dep1]}" /v1/labels "$(cat "$DIR/batch.json")" "$L/batch.pdf"
t1=$(date +%s.%N)
expect_status "batch of 100: 200" 200 "$STATUS"
check "batch of 100: application/pdf" test "${CTYPE%%;*}" = application/pdf
echo "# batch of 100 labels: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, $(wc -c <"$L/batch.pdf") bytes"
check "batch: qpdf --check" qpdf --check "$L/batch.pdf"
check "batch: 100 pages" grep -Eq '^Pages: +100$' <(pdfinfo "$L/batch.pdf" 2>/dev/null)
for p in 1 2 7 13 29 50 64 77 99 100; do
	want=$(sed -n "${p}p" "$DIR/batch.tns")
	got=$(pdftotext -f "$p" -l "$p" "$L/batch.pdf" - 2>/dev/null | grep -Eo 'WB[0-9]{18}' | sort -u | tr '\n' ' ')
	if [ "$got" = "$want " ]; then ok "batch: page $p shows tracking number $p"; else fail "batch: page $p" "want $want, got $got"; fi
done
for p in 1 100; do
	want=$(sed -n "${p}p" "$DIR/batch.tns")
	pdftoppm -r 300 -png -singlefile -f "$p" -l "$p" "$L/batch.pdf" "$DIR/bp" 2>/dev/null
	zbarimg -q "$DIR/bp.png" >"$DIR/bp.zbar" 2>/dev/null
	check "batch: page $p barcodes decode to its tracking number" \
		bash -c 'grep -qx "CODE-128:$1" "$2" && grep -qx "QR-Code:$1" "$2"' _ "$want" "$DIR/bp.zbar"
	check "batch: page $p is 100x150 mm" awk -v s="$(page_pts "$L/batch.pdf" "$p")" \
		'BEGIN { split(s, a, " "); exit !(a[1] > 282.5 && a[1] < 284.5 && a[2] > 424.2 && a[2] < 426.2) }'
done
pdftotext "$L/batch.pdf" "$DIR/batch.txt" 2>/dev/null
no_pii "batch: pdftotext" "$DIR/batch.txt"
no_pii "batch: raw PDF bytes" "$L/batch.pdf"
first_tn=$(head -n 1 "$DIR/batch.tns")
audit_all "$DIR/a1.json" "tracking_no=$first_tn"
check "batch: a label.print audit entry per label" \
	jq -e '[.[] | select(.action == "label.print")] | length == 1' "$DIR/a1.json"
audit_all "$DIR/a_dep1.json" "actor=dep1"
check "batch: one label.batch entry for the request, ok, saying 100 labels" \
	jq -e '[.[] | select(.action == "label.batch" and .result == "ok")] | length == 1 and (.[0].reason | test("100"))' "$DIR/a_dep1.json"
check "batch: each of the 100 labels has its own label.print entry, ok, naming its order" \
	jq -e --slurpfile t <(jq -R . "$DIR/batch.tns") '. as $e | $t | length == 100 and
		all(. as $x | [$e[] | select(.action == "label.print" and .result == "ok" and .tracking_no == $x)] | length == 1)' "$DIR/a_dep1.json"

# A one-label batch and a single label: each label's entry names its order
# (a one-label batch used to be audited as the request alone, with no number).
fixture 304 >"$DIR/o304.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o304.json"
expect_status "setup: fixture 304 created" 201 "$STATUS"
ONE=$(jb .tracking_no)
fixture 305 >"$DIR/o305.json"
api POST /v1/orders "${TOK[c1]}" "$DIR/o305.json"
expect_status "setup: fixture 305 created" 201 "$STATUS"
SINGLE=$(jb .tracking_no)
for k in 1 2; do
	post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"$ONE\"]}" "$DIR/one$k.pdf"
	expect_status "one-label batch, print $k: 200" 200 "$STATUS"
done
check "one-label batch: one page" grep -Eq '^Pages: +1$' <(pdfinfo "$DIR/one1.pdf" 2>/dev/null)
audit_all "$DIR/a_one.json" "tracking_no=$ONE"
check "one-label batch: its label.print, then label.reprint, entries name the order, ok" \
	jq -e --arg t "$ONE" '[.[] | select(.action | test("^label\\.(print|reprint)$"))] |
		map([.action, .tracking_no, .result]) == [["label.print", $t, "ok"], ["label.reprint", $t, "ok"]]' "$DIR/a_one.json"
audit_all "$DIR/a_one_req.json" "actor=dep1"
check "one-label batch: each label entry shares its request id with the request's label.batch entry" \
	jq -e --arg t "$ONE" '(map(select(.action == "label.batch" and .reason == "1 labels") | .request_id) | sort) ==
		(map(select(.tracking_no == $t and (.action | test("^label\\.(print|reprint)$"))) | .request_id) | sort)' "$DIR/a_one_req.json"
get_pdf "${TOK[dep1]}" "/v1/orders/$SINGLE/label.pdf" "$DIR/single.pdf"
expect_status "single label: 200" 200 "$STATUS"
audit_all "$DIR/a_single.json" "tracking_no=$SINGLE"
check "single label: one label.print entry naming the order, ok" \
	jq -e --arg t "$SINGLE" '[.[] | select(.action | test("^label"))] | map([.action, .tracking_no, .result]) == [["label.print", $t, "ok"]]' "$DIR/a_single.json"

# one foreign order (depot d2) at index 7: 404 naming it, no PDF, nothing printed
fixture 303 >"$DIR/o303.json"
api POST /v1/orders "${TOK[c3]}" "$DIR/o303.json"
FOREIGN=$(jb .tracking_no)
head -n 12 "$DIR/batch.tns" >"$DIR/b12.tns"
sed -i "8s/.*/$FOREIGN/" "$DIR/b12.tns"
post_pdf "${TOK[dep1]}" /v1/labels "$(jq -R . "$DIR/b12.tns" | jq -sc '{tracking_nos: .}')" "$DIR/b12.out"
expect_error "batch with another depot's order at [7]" 404 "" "tracking_nos[7]"
check "batch with a foreign order: no PDF" bash -c '[ "${1%%;*}" != application/pdf ] && ! head -c 5 "$2" | grep -q %PDF' _ "$CTYPE" "$DIR/b12.out"
audit_all "$DIR/a2.json" "tracking_no=$first_tn"
check "batch with a foreign order: nothing printed (no new label entry for [0])" \
	jq -e '[.[] | select(.action | startswith("label.print") or startswith("label.reprint"))] | length == 1' "$DIR/a2.json"
# a tracking number whose check digits fail, and a well-formed unknown one
bad=$(sed -n 4p "$DIR/batch.tns")
bad=${bad:0:19}$(( (${bad:19:1} + 1) % 10 ))
for case in "bad check digits|$bad" "unknown|$(tn_make 1234567890123456)" "not a string|"; do
	what=${case%%|*} t=${case#*|}
	head -n 5 "$DIR/batch.tns" | jq -R . | jq -sc --arg t "$t" --arg w "$what" \
		'.[3] = (if $w == "not a string" then 42 else $t end) | {tracking_nos: .}' >"$DIR/bb.json"
	post_pdf "${TOK[dep1]}" /v1/labels "$(cat "$DIR/bb.json")" "$DIR/bb.out"
	expect_error "batch with an $what number at [3]" "404|422" "" "tracking_nos[3]"
done
post_pdf "${TOK[dep2]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: .[0:3]}')" "$DIR/bd.out"
expect_error "batch of depot d1's orders by depot d2" 404 "" "tracking_nos[0]"
post_pdf "${TOK[dep1]}" /v1/labels '{"tracking_nos":[],"size":"100x150"}' "$DIR/be.out"
expect_error "batch: empty list" 422 "" tracking_nos
post_pdf "${TOK[dep1]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: .[0:2], size: "A4"}')" "$DIR/bs.out"
expect_error "batch: unknown size" 422 "" size
post_pdf "${TOK[dep1]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: [.[0], .[1], .[0]]}')" "$DIR/bdup.out"
expect_status "batch: a number twice: 422" 422 "$STATUS"
post_pdf "${TOK[dep1]}" /v1/labels '{"size":"100x150"}' "$DIR/bm.out"
expect_status "batch: no list: 422" 422 "$STATUS"
# 501 well-formed numbers against the default limit of 500
for k in $(seq 1 501); do tn_make "$(printf '%016d' "$k")"; done | jq -R . | jq -sc '{tracking_nos: .}' >"$DIR/b501.json"
post_pdf "${TOK[dep1]}" /v1/labels "$(cat "$DIR/b501.json")" "$DIR/b501.out"
expect_status "batch of 501 (default max 500): 413" 413 "$STATUS"
post_pdf "${TOK[c1]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: .[0:1]}')" "$DIR/bc.out"
expect_status "batch as a courier: 403" 403 "$STATUS"

# ---- reprints (label_reprints_max 3 by default) -----------------------------------

RTN=$(tn_of "$DIR/map" 300)
for k in 1 2 3 4; do
	get_pdf "${TOK[dep1]}" "/v1/orders/$RTN/label.pdf" "$DIR/r$k.pdf"
	expect_status "print $k of one label: 200" 200 "$STATUS"
done
get_pdf "${TOK[dep1]}" "/v1/orders/$RTN/label.pdf?size=76x130" "$DIR/r5.pdf"
expect_error "print 5 (4th reprint): 429" 429 ""
check "print 5: no PDF" bash -c '! head -c 5 "$1" | grep -q %PDF' _ "$DIR/r5.pdf"
post_pdf "${TOK[dep1]}" /v1/labels "{\"tracking_nos\":[\"$(sed -n 1p "$DIR/batch.tns")\",\"$RTN\"]}" "$DIR/r6.pdf"
expect_error "a batch holding a label past its reprints: 429 naming it" 429 "" "tracking_nos[1]"
audit_all "$DIR/a3.json" "tracking_no=$RTN"
check "reprints audited: label.print, then 3 label.reprint, all ok" \
	jq -e '[.[] | select(.result == "ok" and (.action == "label.print" or .action == "label.reprint")) | .action]
		== ["label.print", "label.reprint", "label.reprint", "label.reprint"]' "$DIR/a3.json"
check "the refused print is audited too" \
	jq -e '[.[] | select(.action | test("^label")) | select(.result != "ok")] | length >= 1' "$DIR/a3.json"

# ---- hostile names and addresses --------------------------------------------------

# Names and addresses that are PDF syntax, JavaScript names, code points
# above U+FFFF, the longest name and the longest address the contract allows.
HAN32=$(printf '龘%.0s' $(seq 32))
ADDR128=$(printf '中山路%.0s' $(seq 40))一二三四五六七号
check "hostile: the long name is 32 and the long address 128 characters" \
	test "${#HAN32}" -eq 32 -a "${#ADDR128}" -eq 128
: >"$DIR/hostile.jsonl"
k=0
for name in '()\%' '/JavaScript' '<<>>' "$HAN32" '😀😃🎉' '𠀀䶮' ')\\(%%EOF' 'A)Tj ET'; do
	fixture 10 | jq -c --arg n "$name" --arg id "h-$k" \
		'.client_order_id = $id | .recipient.name = $n | .sender.name = $n' >>"$DIR/hostile.jsonl"
	k=$((k + 1))
done
NAMES_K=$k
for addr in "$ADDR128" '()\%<<>>/JavaScript 5号' '路) Tj /OpenAction << >> (号'; do
	fixture 11 | jq -c --arg a "$addr" --arg id "h-$k" \
		'.client_order_id = $id | .recipient.address = $a | .sender.address = $a' >>"$DIR/hostile.jsonl"
	k=$((k + 1))
done
: >"$DIR/hjobs"
: >"$DIR/htns"
k=0
while IFS= read -r line; do
	printf '%s\n' "$line" >"$DIR/h.json"
	desc=$(jq -r '"name " + (.recipient.name | .[0:12]) + ", address " + (.recipient.address | .[0:12])' "$DIR/h.json")
	api POST /v1/orders "${TOK[c1]}" "$DIR/h.json"
	if [ "$STATUS" = 201 ]; then
		ok "hostile $k ($desc): created"
		tn=$(jb .tracking_no)
		for s in 100x150 76x130; do
			f=$L/h$k-$s
			get_pdf "${TOK[dep1]}" "/v1/orders/$tn/label.pdf?size=$s" "$f.pdf"
			expect_status "hostile $k $s: label 200" 200 "$STATUS"
			[ "$STATUS" = 200 ] && printf '%s\t%s\t200\n' "$f.pdf" "$f" >>"$DIR/hjobs"
			echo "$k $s $tn" >>"$DIR/htns"
		done
	else
		fail "hostile $k ($desc): created" "HTTP $STATUS $(snip "$BODY")"
	fi
	k=$((k + 1))
done <"$DIR/hostile.jsonl"
xargs -d '\n' -n 1 -P "$NPROC" bash "$DIR/analyze.sh" <"$DIR/hjobs"
while read -r k s tn; do
	f=$L/h$k-$s
	[ -s "$f.pdf" ] || continue
	check "hostile $k $s: qpdf --check" qpdf --check "$f.pdf"
	check "hostile $k $s: CODE-128 and QR still decode (200 dpi)" \
		bash -c 'grep -qx "CODE-128:$1" "$2" && grep -qx "QR-Code:$1" "$2"' _ "$tn" "$f.zbar"
	check "hostile $k $s: one page" grep -Eq '^Pages: +1$' <(pdfinfo "$f.pdf" 2>/dev/null)
	qpdf --qdf --object-streams=disable "$f.pdf" "$f.qdf" 2>/dev/null
	check "hostile $k $s: no active content" \
		bash -c '! LC_ALL=C grep -a -q -E "/OpenAction|/URI|/Launch|/JavaScript|/JS[^A-Za-z]|/AA[^A-Za-z]" "$1"' _ "$f.qdf"
	if [ "$k" -lt "$NAMES_K" ]; then pdftotext "$f.pdf" - 2>/dev/null >>"$DIR/hostile-names.txt"; fi
done <"$DIR/htns"
# a hostile name is masked like any other: never printed whole
jq -r '.recipient.name' "$DIR/hostile.jsonl" | head -n "$NAMES_K" | awk 'length($0) > 2' >"$DIR/hostile.names"
grep_pii "hostile: no full hostile name in the text layer" "$DIR/hostile.names" "$DIR/hostile-names.txt"

check "audit chain verifies after all this printing" \
	bash -c 'curl -s -H "Authorization: Bearer $1" "$2/v1/audit/verify" | jq -e .ok' _ "${TOK[aud1]}" "$URL"
no_pii "daemon log" "$DIR/log"
no_pii "error bodies" "$DIR/error_bodies"

# ---- max_batch_labels ------------------------------------------------------------

stop_daemon "sigterm exits 0 (before --max-batch-labels 5)"
daemon_up --max-batch-labels 5 || die restart "waybilld did not come back"
post_pdf "${TOK[dep1]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: .[0:6]}')" "$DIR/b6.out"
expect_error "max_batch_labels 5: a batch of 6" 413 ""
post_pdf "${TOK[dep1]}" /v1/labels "$(jq -R . "$DIR/batch.tns" | jq -sc '{tracking_nos: .[0:5]}')" "$DIR/b5.pdf"
expect_status "max_batch_labels 5: a batch of 5: 200" 200 "$STATUS"
check "max_batch_labels 5: 5 pages" grep -Eq '^Pages: +5$' <(pdfinfo "$DIR/b5.pdf" 2>/dev/null)
echo "# run time $(elapsed) s"
finish
