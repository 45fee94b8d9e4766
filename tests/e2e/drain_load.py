#!/usr/bin/env python3
"""drain_load.py - keep-alive clients posting orders until the daemon goes away.

    drain_load.py post PORT TOKEN FIXTURES CLIENTS OUT
        CLIENTS threads, each on one keep-alive connection, POST /v1/orders
        in a loop (reconnecting after a Connection: close) until the daemon
        refuses connections.  Writes the tracking number of every 201 to OUT,
        one a line, then prints "acked=N other=N conn_errors=N" and the
        statuses of the other answers.  Touches "OUT.go" once the first 201 of
        every client is in (the caller then sends SIGTERM).
    drain_load.py check PORT TOKEN IN
        GETs every tracking number in IN; prints "read=N missing=N".
Only 127.0.0.1.
"""
import collections
import http.client
import json
import os
import sys
import threading
import time


def post(port, token, fixtures, clients, out):
    with open(fixtures, encoding="utf-8") as f:
        orders = [json.loads(line) for line in f if line.strip()]
    run = os.urandom(4).hex()

    def body(i):
        # A client_order_id of its own each time: a repeated one is an idempotent 200.
        o = dict(orders[i % len(orders)])
        o["client_order_id"] = "drain-%s-%d" % (run, i)
        return json.dumps(o, ensure_ascii=False).encode()

    lock = threading.Lock()
    acked, other, errors = [], collections.Counter(), [0]
    first = threading.Barrier(clients + 1)
    hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def client(k):
        conn, i, started, refused = None, k, False, 0
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                conn.request("POST", "/v1/orders", body(i), hdrs)
                i += clients
                resp = conn.getresponse()
                data = resp.read()
                with lock:
                    if resp.status == 201:
                        acked.append(json.loads(data)["tracking_no"])
                    else:
                        other[resp.status] += 1
                if resp.status == 201 and not started:
                    started = True
                    first.wait()
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                refused = 0
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                if conn is not None:
                    conn.close()
                    conn = None
                refused += 1
                # Refused twice in a row: the listener is gone.
                if refused >= 2:
                    break
                time.sleep(0.01)
        if not started:
            first.abort()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    try:
        first.wait(timeout=30)
        open(out + ".go", "w").close()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    with open(out, "w") as f:
        for tn in acked:
            f.write(tn + "\n")
    print("acked=%d other=%d conn_errors=%d %s" % (
        len(acked), sum(other.values()), errors[0],
        " ".join("%d:%d" % kv for kv in sorted(other.items()))))


def check(port, token, path):
    with open(path) as f:
        tns = [line.strip() for line in f if line.strip()]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    read = missing = 0
    for tn in tns:
        conn.request("GET", "/v1/orders/" + tn, headers={"Authorization": "Bearer " + token})
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            read += 1
        else:
            missing += 1
            print("missing %s: %d" % (tn, resp.status), file=sys.stderr)
    print("read=%d missing=%d" % (read, missing))


if __name__ == "__main__":
    if sys.argv[1] == "post":
        post(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        check(int(sys.argv[2]), sys.argv[3], sys.argv[4])
