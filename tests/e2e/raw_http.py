#!/usr/bin/env python3
"""raw_http.py - requests curl will not send, for tests/e2e (41-errors, 55-tls).

  raw_http.py raw PORT FILE      send FILE's bytes as they are, print the answer
                                 as JSON: {"status", "headers": [[k, v]...], "body",
                                 "status_lines"} (status_lines counts "HTTP/1.x " lines)
  raw_http.py all PORT FILE [tls]
                                 send FILE's bytes (over TLS, unverified, with tls),
                                 read until the daemon closes, print
                                 {"statuses": [each answer's status], "text"}
  raw_http.py upload PORT PATH TOKEN BYTES N
                                 N POSTs of BYTES bytes with urllib (no Expect:
                                 100-continue); prints how many got a status back,
                                 then the statuses seen, e.g. "20 413:20"
Only 127.0.0.1.
"""
import json
import re
import socket
import ssl
import sys
import urllib.error
import urllib.request


STATUS_LINE = rb"HTTP/1\.[01] (\d{3}) "


def exchange(port, path, tls=False, done=None):
    """Send FILE's bytes to 127.0.0.1:port (over TLS, unverified, when tls); the bytes
    read back until the daemon closes, or until done(bytes so far) is true."""
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    s.sendall(data)
    got = b""
    try:
        while not (done and done(data, got)):
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    s.close()
    return got


def one_answer(data, got):
    """Whether got holds a whole answer (a HEAD's ends with its head)."""
    head, sep, rest = got.partition(b"\r\n\r\n")
    if not sep:
        return False
    if data.startswith(b"HEAD "):
        return True
    cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    return bool(cl) and len(rest) >= int(cl[0].split(b":", 1)[1])


def raw(port, path):
    got = exchange(port, path, done=one_answer)
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = 0
    if lines and lines[0].startswith("HTTP/"):
        status = int(lines[0].split()[1])
    headers = [l.split(":", 1) for l in lines[1:] if ":" in l]
    headers = [[k.strip(), v.strip()] for k, v in headers]
    print(json.dumps({"status": status, "headers": headers,
                      "body": body.decode("utf-8", "replace"),
                      "status_lines": len(re.findall(STATUS_LINE, got))}))


def read_all(port, path, tls):
    got = exchange(port, path, tls=tls)
    statuses = [int(m) for m in re.findall(STATUS_LINE, got)]
    print(json.dumps({"statuses": statuses, "text": got.decode("utf-8", "replace")}))


def upload(port, path, token, size, n):
    data = b"{" + b" " * (size - 2) + b"}"
    seen = {}
    answered = 0
    for _ in range(n):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data,
                                     method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                code = str(resp.status)
        except urllib.error.HTTPError as e:
            code = str(e.code)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            code = type(reason).__name__
        if code.isdigit():
            answered += 1
        seen[code] = seen.get(code, 0) + 1
    print(answered, " ".join("%s:%d" % kv for kv in sorted(seen.items())))


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        raw(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "all":
        read_all(int(sys.argv[2]), sys.argv[3], sys.argv[4:5] == ["tls"])
    elif sys.argv[1] == "upload":
        upload(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("usage: raw_http.py raw|all|upload ...")
