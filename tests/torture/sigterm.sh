#!/bin/sh
# tests/torture/sigterm.sh [TRIES] - SIGTERM under 16 keep-alive clients posting
# orders, TRIES times (default 100); every acked order is read back after.
# Prints each try and the figures line:
#   sigterm: tries=N clients=16 exit0=N sigabrt=N other=N max_stop_ms=N
#            over_drain_s=N acked=N missing=N
# and ends with "N passed, N failed" like the e2e files (it is 95-drain.sh, longer).
# BIN=... measures another build (e.g. an older one, for a before/after).
cd "$(dirname "$0")/../.." || exit 1
TRIES=${1:-${TORTURE_SIGTERM_TRIES:-100}} exec bash tests/e2e/95-drain.sh
