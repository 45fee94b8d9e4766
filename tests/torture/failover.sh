#!/bin/sh
# failover: tests/e2e/99-failover.sh longer and under more load: TORTURE_FAILOVER_CYCLES
# (default 5) kills of the primary and promotions of its standby, each followed by a
# new standby built from the new primary (tests/pg_pair.sh rebuild), with
# TORTURE_FAILOVER_THREADS (default 12) writers per daemon.  Every check of 99-failover
# holds after each cycle; at the end every order of every cycle is counted once in the
# database and the audit chain verifies on the last primary.  Needs a PostgreSQL server
# (apt-get install postgresql); without one it says so and passes one check.
cd "$(dirname "$0")/../.." || exit 1
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
	echo "skip: no PostgreSQL server for the failover torture"
	echo "ok   skipped (no PostgreSQL)"
	echo "1 passed, 0 failed"
	exit 0
fi
WAYBILL_TEST_PG=${WAYBILL_TEST_PG:-pair} FAILOVER_CYCLES=${TORTURE_FAILOVER_CYCLES:-5} \
	FAILOVER_THREADS=${TORTURE_FAILOVER_THREADS:-12} exec sh tests/e2e/99-failover.sh
