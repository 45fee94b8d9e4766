#!/usr/bin/env python3
"""fake_printer.py MODE PORTFILE OUTDIR - a raw TCP (port 9100 style) printer.

Listens on 127.0.0.1 on a port of its own choosing, written to PORTFILE once
it listens.  MODE store: each connection's bytes, read to its end, become
OUTDIR/job.N (N from 1), written whole once the connection closed (a file
appears complete or not at all).  MODE stall: accepts, never reads a byte,
and keeps the connection open, with a receive buffer as small as the kernel
allows, so a sender's writes stop once the buffers are full.  Used by
tests/e2e/62-print-jobs.sh.
"""
import os
import socket
import sys
import threading


def store(conn, path):
    chunks = []
    while True:
        b = conn.recv(65536)
        if not b:
            break
        chunks.append(b)
    conn.close()
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(b"".join(chunks))
    os.rename(tmp, path)


def main():
    mode, portfile, outdir = sys.argv[1:4]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == "stall":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    tmp = portfile + ".part"
    with open(tmp, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmp, portfile)
    held = []
    n = 0
    while True:
        conn, _ = s.accept()
        n += 1
        if mode == "stall":
            held.append(conn)
            with open(os.path.join(outdir, "accepted"), "a") as f:
                f.write("%d\n" % n)
            continue
        threading.Thread(target=store, args=(conn, os.path.join(outdir, "job.%d" % n)),
                         daemon=True).start()


if __name__ == "__main__":
    main()
