#!/usr/bin/env python3
"""raw_http.py - requests curl will not send, for tests/e2e/41-errors.sh.

  raw_http.py raw PORT FILE      send FILE's bytes as they are, print the answer
                                 as JSON: {"status", "headers": [[k, v]...], "body",
                                 "status_lines"} (status_lines counts "HTTP/1.x " lines)
  raw_http.py all PORT FILE      send FILE's bytes, read until the daemon closes, print
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
import sys
import urllib.error
import urllib.request


def raw(port, path):
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    head_only = data.startswith(b"HEAD ")
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
            head, sep, rest = got.partition(b"\r\n\r\n")
            if sep and head_only:
                break
            if sep:
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(rest) >= int(cl[0].split(b":", 1)[1]):
                    break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = 0
    if lines and lines[0].startswith("HTTP/"):
        status = int(lines[0].split()[1])
    headers = [l.split(":", 1) for l in lines[1:] if ":" in l]
    headers = [[k.strip(), v.strip()] for k, v in headers]
    print(json.dumps({"status": status, "headers": headers,
                      "body": body.decode("utf-8", "replace"),
                      "status_lines": len(re.findall(rb"HTTP/1\.[01] \d{3} ", got))}))


def read_all(port, path):
    with open(path, "rb") as f:
        data = f.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", got)]
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
        read_all(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "upload":
        upload(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("usage: raw_http.py raw|all|upload ...")
