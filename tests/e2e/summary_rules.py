#!/usr/bin/env python3
"""summary_rules.py FIXTURES LISTDIR - check list rows (order summaries) BY RULE.

LISTDIR/N.json is the list row of fixture line N (0-based), as GET /v1/orders
gave it.  A summary carries no personal field in any form, masked or not
(API.md "The order summary"): exactly its keys, every value one of the clear
columns, and none of the things an insider matched orders by - the last four
phone digits, a name's first character, a road name.  Each rule is checked for
every row and printed once, as "ok   RULE (N checked)" or "FAIL RULE: K of N,
e.g. ..." (examples name the field, never the personal value).  Used by
tests/e2e/20-privacy.sh.
"""
import json
import os
import re
import sys
from collections import defaultdict

KEYS = {"tracking_no", "status", "depot", "courier", "created_at", "updated_at",
        "destination", "parcel", "prints", "sort_code"}
STATES = {"created", "picked_up", "in_transit", "out_for_delivery", "delivered",
          "returned", "cancelled"}
NAMEISH = re.compile(r"name|phone|mobile|tel|addr|street|recipient|sender|contact|mask",
                     re.IGNORECASE)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
checked = defaultdict(int)
failed = defaultdict(list)


def rule(name, good, example=""):
    checked[name] += 1
    if not good:
        failed[name].append(example)


def region(p):
    """Province, city (once for municipalities) and district, as view.c writes them."""
    if p["province"] == p["city"]:
        return p["province"] + p["district"]
    return p["province"] + p["city"] + p["district"]


def leaves(v, path=""):
    """(path, value) of every scalar in v; (path, None) for every key too."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield f"{path}.{k}", None
            yield from leaves(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, f"{path}[{i}]")
    else:
        yield path, v


def keys_of(v, path=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield f"{path}.{k}", k
            yield from keys_of(x, f"{path}.{k}")
    elif isinstance(v, list):
        for x in v:
            yield from keys_of(x, path)


def check_row(o, v):
    rule("a row is an object with exactly the summary's keys",
         isinstance(v, dict) and set(v) == KEYS, sorted(v) if isinstance(v, dict) else type(v))
    if not isinstance(v, dict):
        return
    bad = [p for p, k in keys_of(v) if NAMEISH.search(k)]
    rule("no name-, phone- or address-like key anywhere in a row", not bad, bad[:2])
    rule("tracking_no is a tracking number",
         re.fullmatch(r"[A-Z]{2,4}[0-9]{18}", str(v.get("tracking_no"))) is not None, "tracking_no")
    rule("status is a state", v.get("status") in STATES, "status")
    rule("depot is the creating courier's depot", v.get("depot") == "d1", "depot")
    rule("courier is null or an account name",
         v.get("courier") is None or re.fullmatch(r"[a-z0-9._-]{1,32}", str(v["courier"])),
         "courier")
    rule("created_at and updated_at are UTC times",
         all(TIME.match(str(v.get(k, ""))) for k in ("created_at", "updated_at")), "times")
    rule("destination is the recipient's province, city and district, nothing more",
         v.get("destination") == region(o["recipient"]), "destination")
    rule("parcel is exactly weight_g and count",
         v.get("parcel") == {"weight_g": o["parcel"]["weight_g"],
                             "count": o["parcel"].get("count", 1)}, "parcel")
    rule("sort_code is null or a sort code (A-Z 0-9 -)",
         v.get("sort_code") is None or re.fullmatch(r"[A-Z0-9-]{1,16}", str(v["sort_code"])),
         "sort_code")
    rule("prints is a print count", isinstance(v.get("prints"), int) and v["prints"] >= 0,
         "prints")

    # What matched orders to people: judged on the fields themselves, not on
    # substrings of tracking numbers or times.
    text = [(p, x) for p, x in leaves(v) if isinstance(x, str)
            and p not in (".tracking_no", ".created_at", ".updated_at")]
    for who in ("sender", "recipient"):
        party = o[who]
        digits = re.sub(r"\D", "", party["phone"])
        last4 = digits[-4:]
        hits = [p for p, x in text for t in re.findall(r"\d+", x)
                if t == last4 or (len(t) >= 4 and t in digits)]
        hits += [p for p, x in leaves(v) if isinstance(x, int) and not isinstance(x, bool)
                 and str(x) == last4 and p not in (".parcel.weight_g", ".parcel.count", ".prints")]
        rule(f"no field holds the {who}'s phone digits (the last four included)", not hits,
             hits[:2])
        first = party["name"][:1]
        hits = [p for p, x in text if p != ".destination"
                and (x == first or "*" in x or (x.startswith(first) and not first.isascii()))]
        rule(f"no field holds the {who}'s name, its first character or a masked value",
             not hits and all(party["name"] not in x for _, x in text), hits[:2])
        road = re.match(r"^[^0-9*]*", party["address"]).group(0)
        hits = [p for p, x in text if party["address"] in x
                or (len(road) >= 2 and road not in region(party) and road in x)]
        rule(f"no field holds the {who}'s street address or its road name", not hits, hits[:2])


def main():
    fixtures = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    seen = 0
    for i, o in enumerate(fixtures):
        path = os.path.join(sys.argv[2], f"{i}.json")
        try:
            v = json.load(open(path, encoding="utf-8"))
        except (OSError, ValueError):
            rule("every fixture order is listed", False, f"line {i}")
            continue
        rule("every fixture order is listed", True)
        seen += 1
        check_row(o, v)
    rule(f"all {len(fixtures)} rows checked", seen == len(fixtures), str(seen))
    for name in checked:
        bad = failed.get(name, [])
        if bad:
            ex = "; ".join(str(e) for e in bad[:3])
            print(f"FAIL {name}: {len(bad)} of {checked[name]}, e.g. {ex}")
        else:
            print(f"ok   {name} ({checked[name]} checked)")


if __name__ == "__main__":
    main()
