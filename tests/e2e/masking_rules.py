#!/usr/bin/env python3
"""masking_rules.py FIXTURES VIEWDIR [VIEWDIR...] - check masked order views BY RULE.

VIEWDIR/N.json is the view of fixture line N (0-based).  Each rule is checked
for every order and printed once, as "ok   RULE (N checked)" or
"FAIL RULE: K of N, e.g. ..." (examples show the masked side only: no
personal data in test logs either).  Used by tests/e2e/20-privacy.sh.
"""
import json
import os
import re
import sys
from collections import defaultdict

DOTS = "·•・"
checked = defaultdict(int)
failed = defaultdict(list)


def rule(name, good, example=""):
    checked[name] += 1
    if not good:
        failed[name].append(example)


def name_part(orig, masked):
    """One name part: first character kept, at least half hidden, one * per character."""
    letters = [c for c in orig if c not in " -"]
    stars = masked.count("*")
    if len(orig) == 1:
        return masked == "*"
    return (masked[:1] == orig[:1] and stars >= 1 and 2 * stars >= len(letters)
            and len(masked) == len(orig)
            and all(m == "*" or m == o for m, o in zip(masked, orig)))


def check_name(who, orig, masked):
    rule(f"{who}.name never the full name", masked != orig and orig not in masked, masked)
    split = re.split(f"[{DOTS}]", orig)
    if len(split) > 1:
        msplit = re.split(f"[{DOTS}]", masked)
        rule(f"{who}.name with '·': masked part by part",
             len(msplit) == len(split) and all(name_part(o, m) for o, m in zip(split, msplit)),
             masked)
    else:
        rule(f"{who}.name: first character kept, >= half hidden (>= 1), one * each",
             name_part(orig, masked), masked)


def check_phone(who, orig, masked):
    digits = re.sub(r"[^0-9]", "", orig)
    m = re.fullmatch(r"(\*+)([0-9]{0,4})", masked)
    rule(f"{who}.phone: only '*' then at most the last 4 digits", m is not None, masked)
    if m:
        rule(f"{who}.phone: at least 6 '*'", len(m.group(1)) >= 6, masked)
        rule(f"{who}.phone: shown digits are the original's last digits",
             digits.endswith(m.group(2)), masked)


def check_address(orig, masked):
    rule("recipient.address: no ASCII digit or Latin letter",
         re.search(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]", masked) is None, masked)
    prefix = re.match(r"[^0-9]*", orig).group(0)
    rule("recipient.address: same road prefix (up to the first digit)",
         masked.startswith(prefix), masked)
    rule("recipient.address: each digit became one '*'",
         masked == re.sub(r"[0-9]", "*", orig), masked)
    rule("recipient.address: never the full address", orig not in masked, masked)


def check_region(who, party, region):
    p, c, d = party["province"], party["city"], party["district"]
    rule(f"{who}.region: province + city + district",
         region == p + c + d or (p == c and region == p + d), region)


def check_view(o, v):
    for who in ("sender", "recipient"):
        party, vp = o[who], v.get(who) or {}
        check_name(who, party["name"], vp.get("name", ""))
        check_phone(who, party["phone"], vp.get("phone", ""))
        check_region(who, party, vp.get("region", ""))
    rule("sender: no address in the view", "address" not in (v.get("sender") or {}))
    check_address(o["recipient"]["address"], (v.get("recipient") or {}).get("address", ""))
    flat = json.dumps(v, ensure_ascii=False)
    texts = [t for t in (o.get("note"), o["parcel"].get("items")) if t]
    rule("view: no note or item description",
         '"note"' not in flat and '"items"' not in flat and not any(t in flat for t in texts))
    rule("view: parcel weight and count as submitted",
         v.get("parcel") == {"weight_g": o["parcel"]["weight_g"],
                             "count": o["parcel"].get("count", 1)}, json.dumps(v.get("parcel")))


def main():
    fixtures = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    for vdir in sys.argv[2:]:
        label = os.path.basename(vdir.rstrip("/"))
        seen = 0
        for i, o in enumerate(fixtures):
            path = os.path.join(vdir, f"{i}.json")
            try:
                v = json.load(open(path, encoding="utf-8"))
            except (OSError, ValueError):
                rule(f"{label}: every order has a JSON view", False, f"line {i}")
                continue
            rule(f"{label}: every order has a JSON view", True)
            seen += 1
            check_view(o, v)
        rule(f"{label}: all {len(fixtures)} views checked", seen == len(fixtures), str(seen))
    for name in checked:
        bad = failed.get(name, [])
        if bad:
            ex = "; ".join(str(e) for e in bad[:3])
            print(f"FAIL {name}: {len(bad)} of {checked[name]}, e.g. {ex}")
        else:
            print(f"ok   {name} ({checked[name]} checked)")


if __name__ == "__main__":
    main()
