#!/bin/sh
# 91-config-keys: the three lists of options agree, key for key and default
# for default: `waybilld --help` (config.c's one option table), the README's
# configuration table and deploy/waybill.conf (where every key has its
# comment with "(default: X)", set or commented out); and the README's
# bounds of each integer option are the table's.  A key added to one
# and not the others, or a default changed in one place only, fails here
# (pgbouncer's optscan does the same for its docs).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

README=${README:-$ROOT/README.md}       # README=FILE, CONF=FILE test other files
CONF=${CONF:-$ROOT/deploy/waybill.conf}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup "mktemp failed"
trap cleanup EXIT

"$WBD" --help >"$DIR/help" 2>&1
check "waybilld --help exits 0" test $? = 0
out=$("$WBD" --config "$CONF" --help 2>&1 >/dev/null)
check "waybilld loads $(basename "$CONF") without a complaint${out:+ ($out)}" test -z "$out"
out=$("$WBD" --config "$ROOT/deploy/dev.conf" --help 2>&1 >/dev/null)
check "waybilld loads dev.conf without a complaint${out:+ ($out)}" test -z "$out"

python3 - "$DIR/help" "$README" "$CONF" >"$DIR/report" <<'PY'
import re, sys
help_f, readme_f, conf_f = sys.argv[1:4]
res = []
def ok(m): res.append("ok\t" + m)
def bad(m, d): res.append("fail\t%s\t%s" % (m, d))

# --help: "  --flag-name   help text (default "X")", integers "(default "X", MIN..MAX)"
hlp, hbounds = {}, {}
for line in open(help_f):
    m = re.match(r'^  --([a-z0-9-]+) +.*\(default "(.*?)"(, (-?[0-9]+)\.\.(-?[0-9]+))?\)$',
                 line.rstrip("\n"))
    if m:
        k = m.group(1).replace("-", "_")
        hlp[k] = m.group(2)
        if m.group(3):
            hbounds[k] = (int(m.group(4)), int(m.group(5)))

# README: the table under "## Configuration": | `k`[, `k2`] | `default` or none | bounds | ...
rd, rbounds, dup = {}, {}, []
text = open(readme_f).read()
sec = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.M | re.S)
for line in (sec.group(1) if sec else "").splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) < 2 or not line.startswith("|") or not cells[0].startswith("`"):
        continue
    keys = re.findall(r"`([a-z0-9_]+)`", cells[0])
    d = cells[1]
    m = re.fullmatch(r"`(.*)`", d)
    d = m.group(1) if m else ("" if d == "none" else "?" + d)
    b = re.fullmatch(r"(-?[0-9,]+)\s*[-\u2013]\s*(-?[0-9,]+)", cells[2]) if len(cells) > 2 else None
    for k in keys:
        if k in rd:
            dup.append(k)
        rd[k] = d
        rbounds[k] = (int(b.group(1).replace(",", "")), int(b.group(2).replace(",", ""))) if b else cells[2] if len(cells) > 2 else ""

# deploy/waybill.conf: "[# ]key = value   # comment (default: X)", comment
# lines directly above belong to the key as well.
cf, nocomment, cdup = {}, [], []
above = []
for line in open(conf_f):
    line = line.rstrip("\n")
    m = re.match(r"^(# ?)?([a-z0-9_]+) = ([^#]*?)\s*(#\s*(.*))?$", line)
    if m and (m.group(1) is None or m.group(2) in hlp or "(default:" in (m.group(5) or "")):
        k = m.group(2)
        comment = " ".join(above + [m.group(5) or ""]).strip()
        dm = re.search(r"\(default: ([^)]*)\)", comment)
        rest = re.sub(r"\(default: [^)]*\)", "", comment).strip()
        if not rest:
            nocomment.append(k)
        if k in cf:
            cdup.append(k)
        d = dm.group(1).strip() if dm else None
        cf[k] = "" if d == "none" else d
        above = []
    elif line.startswith("#") and line.strip() != "#":
        above.append(line.lstrip("#").strip())
    else:
        above = []

if len(hlp) >= 20:
    ok("--help lists %d keys" % len(hlp))
else:
    bad("--help lists the option table", "found only %d keys" % len(hlp))
for name, other in (("the README table", rd), ("deploy/waybill.conf", cf)):
    miss = sorted(set(hlp) - set(other))
    extra = sorted(set(other) - set(hlp))
    if miss:
        bad("%s has every key of --help" % name, "missing: " + " ".join(miss))
    else:
        ok("%s has every key of --help (%d)" % (name, len(hlp)))
    if extra:
        bad("%s has no key --help lacks" % name, "unknown: " + " ".join(extra))
    else:
        ok("%s has no key --help lacks" % name)
    wrong = ["%s: --help \"%s\", here \"%s\"" % (k, hlp[k], "(none given)" if other[k] is None else other[k])
             for k in sorted(set(hlp) & set(other)) if other[k] != hlp[k]]
    if wrong:
        bad("%s has --help's defaults" % name, "; ".join(wrong))
    else:
        ok("%s has --help's defaults" % name)
wrong = ["%s: --help %d..%d, README \"%s\"" % (k, hbounds[k][0], hbounds[k][1],
          rbounds[k] if isinstance(rbounds[k], str) else "%d-%d" % rbounds[k])
         for k in sorted(hbounds) if k in rbounds and rbounds[k] != hbounds[k]]
if len(hbounds) < 10:
    bad("--help gives the bounds of the integer options", "found %d" % len(hbounds))
elif wrong:
    bad("the README table has --help's bounds for the %d integer options" % len(hbounds), "; ".join(wrong))
else:
    ok("the README table has --help's bounds for the %d integer options" % len(hbounds))
for name, d in (("the README table", dup), ("deploy/waybill.conf", cdup)):
    if d:
        bad("%s names each key once" % name, " ".join(sorted(set(d))))
    else:
        ok("%s names each key once" % name)
if nocomment:
    bad("every key in deploy/waybill.conf has its comment", "none for: " + " ".join(nocomment))
else:
    ok("every key in deploy/waybill.conf has its comment")
print("\n".join(res))
PY
while IFS=$'\t' read -r st name detail; do
	if [ "$st" = ok ]; then ok "$name"; else fail "$name" "$detail"; fi
done <"$DIR/report"
finish
