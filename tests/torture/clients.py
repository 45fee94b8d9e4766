#!/usr/bin/env python3
"""tests/torture/clients.py - the fault suite's clients (threads, http.client, keep-alive).

  write    OUT TOKENS URLFILE  concurrent writers posting fixture orders, each with its own
                               client_order_id, until OUT/stop exists; a request without a
                               definite answer (connection lost, 503) is sent again with the
                               same client_order_id, as a client must
  retry    OUT TOKENS URLFILE  every order still unanswered in OUT/unknown.tsv, sent again
  readback OUT TOKENS URLFILE  GET every order in OUT/acked.tsv as its creator (a 503 or no
                               answer is asked again, READ_TRIES times in all, default 20;
                               READ_LIMIT: only the first that many orders)

TOKENS holds "NAME TOKEN" lines; writer i posts as account i mod their number.  URLFILE holds
the daemon's base URL and is read again after every lost connection (a restarted daemon may
listen on another port).

Files in OUT: acked.tsv (tn, account, client_order_id, weight_g: every 201 or 200 answer),
unknown.tsv (client_order_id, account, fixture: no answer yet when told to stop), live (the
answer codes so far, rewritten every 0.2 s), and the summary printed at the end as
"NAME VALUE" lines.  Codes: 201, 200, 503, 500, other (any other status) and conn (no
answer); each 503 to a write is counted by its error code too (e503_CODE).  Nothing here
prints a body: the fixtures hold (made-up) personal data.
"""
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "data", "orders.jsonl")


def load_tokens(path):
    toks = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                toks.append((parts[0], parts[1]))
    if not toks:
        sys.exit("no tokens in " + path)
    return toks


class Client:
    """One keep-alive connection, reopened on the URL in URLFILE after any failure."""

    def __init__(self, urlfile, timeout=15):
        self.urlfile = urlfile
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def request(self, method, path, token, body=None):
        """(status, parsed JSON or None); status 0 when no answer came."""
        try:
            if self.conn is None:
                with open(self.urlfile) as f:
                    u = urllib.parse.urlsplit(f.read().strip())
                self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=self.timeout)
            hdrs = {"Authorization": "Bearer " + token}
            if body is not None:
                hdrs["Content-Type"] = "application/json"
            self.conn.request(method, path, body=body, headers=hdrs)
            resp = self.conn.getresponse()
            data = resp.read()
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, None
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return resp.status, doc


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {"201": 0, "200": 0, "503": 0, "500": 0, "other": 0, "conn": 0}
        self.extra = {}

    def count(self, status):
        key = str(status) if status in (200, 201, 503, 500) else ("conn" if status == 0 else "other")
        with self.lock:
            self.codes[key] += 1

    def add(self, name, n=1):
        with self.lock:
            self.extra[name] = self.extra.get(name, 0) + n

    def snapshot(self):
        with self.lock:
            return dict(self.codes, **self.extra)


def write_live(out, tally, stop):
    while not stop.is_set():
        snap = tally.snapshot()
        tmp = os.path.join(out, "live.tmp")
        with open(tmp, "w") as f:
            for k, v in sorted(snap.items()):
                f.write("%s %d\n" % (k, v))
        os.replace(tmp, os.path.join(out, "live"))
        stop.wait(0.2)


def post_until_answered(cli, tok, body, stopfile, tally):
    """POST until a definite answer or until stopfile exists: (status, doc); status 0 = none."""
    delay = 0.02
    while True:
        st, doc = cli.request("POST", "/v1/orders", tok, body)
        tally.count(st)
        if st == 503:
            code = (doc or {}).get("error", {}).get("code", "none") if isinstance(doc, dict) else "none"
            tally.add("e503_" + str(code))
        if st not in (0, 503):
            return st, doc
        if stopfile and os.path.exists(stopfile):
            return 0, None
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def cmd_write(out, toks, urlfile, threads, prefix):
    fixtures = [json.loads(l) for l in open(FIXTURES)]
    stopfile = os.path.join(out, "stop")
    tally = Tally()
    acked = open(os.path.join(out, "acked.tsv"), "a", buffering=1)
    unknown = open(os.path.join(out, "unknown.tsv"), "a", buffering=1)
    flock = threading.Lock()

    def writer(i):
        name, tok = toks[i % len(toks)]
        cli = Client(urlfile)
        seq = 0
        while not os.path.exists(stopfile):
            fx = (i * 131 + seq) % len(fixtures)
            order = dict(fixtures[fx])
            order["client_order_id"] = "%s-%02d-%06d" % (prefix, i, seq)
            seq += 1
            body = json.dumps(order)
            st, doc = post_until_answered(cli, tok, body, stopfile, tally)
            with flock:
                if st in (200, 201) and doc and "tracking_no" in doc:
                    acked.write("%s\t%s\t%s\t%d\n" % (doc["tracking_no"], name,
                                                      order["client_order_id"],
                                                      order["parcel"]["weight_g"]))
                elif st in (200, 201):
                    tally.add("bad_ack_body")
                elif st == 0:
                    unknown.write("%s\t%s\t%d\n" % (order["client_order_id"], name, fx))
        cli.close()

    stop = threading.Event()
    live = threading.Thread(target=write_live, args=(out, tally, stop))
    live.start()
    ts = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stop.set()
    live.join()
    return tally.snapshot()


def cmd_retry(out, toks, urlfile):
    """Each unanswered order once more: its first answer must be 201 or 200, never 409 or 500."""
    fixtures = [json.loads(l) for l in open(FIXTURES)]
    tokmap = dict(toks)
    tally = Tally()
    path = os.path.join(out, "unknown.tsv")
    rows = [l.rstrip("\n").split("\t") for l in open(path)] if os.path.exists(path) else []
    cli = Client(urlfile)
    with open(os.path.join(out, "acked.tsv"), "a") as acked:
        for coid, name, fx in rows:
            order = dict(fixtures[int(fx)])
            order["client_order_id"] = coid
            for _ in range(50):
                st, doc = cli.request("POST", "/v1/orders", tokmap[name], json.dumps(order))
                tally.count(st)
                if st not in (0, 503):
                    break
                time.sleep(0.1)
            if st in (200, 201) and doc and "tracking_no" in doc:
                tally.add("retried_%d" % st)
                acked.write("%s\t%s\t%s\t%d\n" % (doc["tracking_no"], name, coid,
                                                 order["parcel"]["weight_g"]))
            else:
                tally.add("retry_bad")
    if rows:
        os.replace(path, path + ".done")
    cli.close()
    return tally.snapshot()


def cmd_readback(out, toks, urlfile, threads):
    """GET every acked order as its creator: 200 with its tracking number and weight."""
    tokmap = dict(toks)
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "acked.tsv"))]
    tally = Tally()
    res = {"read_ok": 0, "lost": 0, "read_other": 0, "read_503": 0}
    tries = int(os.environ.get("READ_TRIES", "20"))
    limit = int(os.environ.get("READ_LIMIT", "0"))
    seen = set()
    todo = []
    for r in rows:
        if r[0] not in seen:
            seen.add(r[0])
            todo.append(r)
    if limit:
        todo = todo[:limit]
    lock = threading.Lock()

    def reader(part):
        cli = Client(urlfile)
        for tn, name, coid, weight in part:
            for _ in range(tries):
                st, doc = cli.request("GET", "/v1/orders/" + tn, tokmap[name])
                if st not in (0, 503):
                    break
                time.sleep(0.1)
            tally.count(st)
            with lock:
                if st == 200 and doc and doc.get("tracking_no") == tn and \
                        doc.get("parcel", {}).get("weight_g") == int(weight):
                    res["read_ok"] += 1
                elif st == 404:
                    res["lost"] += 1
                elif st == 503:
                    res["read_503"] += 1
                else:
                    res["read_other"] += 1
        cli.close()

    ts = [threading.Thread(target=reader, args=(todo[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    res["acked_distinct"] = len(todo)
    res["acked_answers"] = len(rows)
    return dict(res, **{"get_" + k: v for k, v in tally.snapshot().items()})


def main():
    args = sys.argv[1:]
    if len(args) < 4 or args[0] not in ("write", "retry", "readback"):
        sys.exit(__doc__)
    cmd, out, tokfile, urlfile = args[:4]
    threads = int(os.environ.get("THREADS", "16"))
    toks = load_tokens(tokfile)
    if cmd == "write":
        res = cmd_write(out, toks, urlfile, threads, os.environ.get("PREFIX", "t"))
    elif cmd == "retry":
        res = cmd_retry(out, toks, urlfile)
    else:
        res = cmd_readback(out, toks, urlfile, min(threads, 8))
    for k, v in sorted(res.items()):
        print("%s %d" % (k, v))


if __name__ == "__main__":
    main()
