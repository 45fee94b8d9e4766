#!/bin/sh
# 95-torture-short: the fault suite (make torture) in short: 3 kill -9 cycles under 16
# writers (each kill within 0.8 s of load), SIGTERM under load when tests/torture/sigterm.sh
# is there, a full disk, and EIO faults of 1 s each.  Its figures table and "N passed,
# N failed" line end this log; the scripts' own logs are in tests/out/torture-short/.
cd "$(dirname "$0")/../.." || exit 1
TORTURE_CYCLES=${TORTURE_CYCLES:-3} TORTURE_KILL9_SECS=${TORTURE_KILL9_SECS:-0.6} \
	TORTURE_EIO_SECS=${TORTURE_EIO_SECS:-1} \
	TORTURE_OUT=${TORTURE_OUT:-${TEST_OUT:-tests/out}/torture-short} exec sh tests/torture/run.sh
