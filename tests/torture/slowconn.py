#!/usr/bin/env python3
"""slowconn.py - slow clients against waybilld, and a probe beside them.  Only 127/8.

  slowconn.py trickle PORT header|body INTERVAL MAX
      One connection sending its request head (header) or, after a whole
      head, its body (body) one byte every INTERVAL seconds.  Prints
      "closed_after=S sent=N" when the server closes it, "open_after=MAX" when
      it is still open after MAX seconds.
  slowconn.py flood PORT ADDRS CONNS SECONDS PROBES TOKEN FIXTURES
      CONNS connections from 127.0.0.2 .. 127.0.0.(ADDRS+1), each trickling a
      request head a byte a second; closed ones are opened again, for
      SECONDS.  Once they are up, a probe from 127.0.0.1 makes PROBES GET
      /healthz and PROBES POST /v1/orders, each on a new connection (5 s
      timeout).  Prints the held connections and the probe's figures:
      "held=N probe_answered=A/T healthz_ok=N orders_201=N p50_ms= p99_ms= max_ms=".
"""
import json
import os
import resource
import socket
import sys
import threading
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000 + b"\r\n\r\n"


def closed(s):
    try:
        t = s.gettimeout()
        s.settimeout(0)  # a look, never a wait
        try:
            return s.recv(1, socket.MSG_PEEK) == b""
        finally:
            s.settimeout(t)
    except BlockingIOError:
        return False
    except OSError:  # closed meanwhile by the other thread
        return True


def trickle(port, what, interval, limit):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    data = HEAD[:-4] + b"\r\n\r\n"
    if what == "body":
        s.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n")
        data = b"{" + b" " * 3998 + b"}"
    t0, sent = time.monotonic(), 0
    while time.monotonic() - t0 < limit:
        try:
            s.send(data[sent:sent + 1])
            sent += 1
        except OSError:
            break
        time.sleep(interval)
        if closed(s):
            break
    else:
        print("open_after=%d sent=%d" % (limit, sent))
        return
    print("closed_after=%.1f sent=%d" % (time.monotonic() - t0, sent))


def flood(port, addrs, conns, seconds, probes, token, fixtures):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(fixtures, encoding="utf-8") as f:
        order = json.loads(f.readline())
    slots = [None] * conns
    pos = [0] * conns
    stop = time.monotonic() + seconds

    def opener(k):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind(("127.0.0.%d" % (2 + k % addrs), 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            return None
        return s

    def keep():
        # Once a second: reopen what the server closed, one more byte on the rest.
        while time.monotonic() < stop:
            t0 = time.monotonic()
            for k in range(conns):
                s = slots[k]
                if s is not None and not closed(s):
                    try:
                        s.send(HEAD[pos[k]:pos[k] + 1])
                        pos[k] = (pos[k] + 1) % (len(HEAD) - 4)
                        continue
                    except OSError:
                        pass
                if s is not None:
                    s.close()
                slots[k] = opener(k)
                pos[k] = 0
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))

    t = threading.Thread(target=keep, daemon=True)
    t.start()
    time.sleep(min(5.0, seconds / 3))
    # The daemon cuts slow heads (header_timeout_s) and keep() reopens them
    # once a second: the most held over one cut-and-reopen cycle (3 s), not
    # one snapshot of it.
    held = 0
    for _ in range(15):
        held = max(held, sum(1 for s in list(slots) if s is not None and not closed(s)))
        time.sleep(0.2)
    lat, lat_h, lat_o, ok_h, ok_o, answered = [], [], [], 0, 0, 0
    run = os.urandom(4).hex()
    for i in range(probes * 2):
        if time.monotonic() >= stop:
            break
        if i % 2 == 0:
            req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        else:
            o = dict(order)
            o["client_order_id"] = "probe-%s-%d" % (run, i)
            body = json.dumps(o, ensure_ascii=False).encode()
            req = (b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                   b"Authorization: Bearer " + token.encode() +
                   b"\r\nContent-Type: application/json\r\nContent-Length: " +
                   str(len(body)).encode() + b"\r\n\r\n" + body)
        t0 = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                         source_address=("127.0.0.1", 0))
            s.sendall(req)
            resp = b""
            while b"\r\n" not in resp:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
            s.close()
        except OSError:
            resp = b""
        ms = (time.monotonic() - t0) * 1000
        if resp.startswith(b"HTTP/1."):
            answered += 1
            lat.append(ms)
            (lat_h if i % 2 == 0 else lat_o).append(ms)
            code = resp.split(b" ", 2)[1]
            ok_h += i % 2 == 0 and code == b"200"
            ok_o += i % 2 == 1 and code == b"201"
        time.sleep(0.02)
    for v in (lat, lat_h, lat_o):
        v.sort()

    def pct(v, p):
        return v[min(len(v) - 1, int(len(v) * p))] if v else -1

    print("held=%d probe_answered=%d/%d healthz_ok=%d orders_201=%d p50_ms=%.1f p99_ms=%.1f "
          "max_ms=%.1f healthz_p99_ms=%.1f orders_p99_ms=%.1f" % (
              held, answered, probes * 2, ok_h, ok_o, pct(lat, 0.5), pct(lat, 0.99),
              lat[-1] if lat else -1, pct(lat_h, 0.99), pct(lat_o, 0.99)))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "trickle":
        trickle(int(a[2]), a[3], float(a[4]), float(a[5]))
    else:
        flood(int(a[2]), int(a[3]), int(a[4]), float(a[5]), int(a[6]), a[7], a[8])
