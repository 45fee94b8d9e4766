#!/bin/sh
# 95-torture-short: the fault suite (make torture) in short: 3 kill -9 cycles under 16
# writers (each kill within 0.8 s of load), a full disk, and EIO faults of 1 s each
# (SIGTERM under load has its own short run in make test: 95-drain.sh; the 5,000
# slow connections run only in make torture).  Its figures table and "N passed,
# N failed" line end this log; the scripts' own logs are in tests/out/torture-short/.
cd "$(dirname "$0")/../.." || exit 1
TORTURE_CYCLES=${TORTURE_CYCLES:-3} TORTURE_KILL9_SECS=${TORTURE_KILL9_SECS:-0.6} \
	TORTURE_EIO_SECS=${TORTURE_EIO_SECS:-1} TORTURE_ONLY=${TORTURE_ONLY:-kill9 enospc eio} \
	TORTURE_OUT=${TORTURE_OUT:-${TEST_OUT:-tests/out}/torture-short} exec sh tests/torture/run.sh
