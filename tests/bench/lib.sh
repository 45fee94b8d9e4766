# tests/bench/lib.sh - sourced by the bench scripts: a scratch directory that
# goes away, a daemon that is stopped, two ways to read wrk's line, and the
# two goal lines `make bench` ends with.
# Set dir before sourcing; pid holds the daemon's process id once started.
rm -rf "$dir"
mkdir -p "$dir"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# goals P99 FLOOR PEAK CEILING: the two goals (README "Performance"), each as
# a ratio to what the same run measured on the same disk.  P99: the median p99
# of POST /v1/orders at half the peak, ms; FLOOR: the median p99 of raw SQLite
# group-committing order-sized rows arriving at that rate (sqlite_ceiling
# --group), ms; PEAK: orders/s over 64 connections; CEILING: raw SQLite's one
# durable commit per order-sized row, rows/s (the higher of before and after).
ratio_x() { r=$(ratio "$1" "$2"); [ "$r" = n/a ] && echo "n/a (nothing measured)" || echo "${r}x"; }
goals() {
	echo "p99 at half peak: $1 ms = $(ratio_x "$1" "$2") the disk's group-commit floor $2 ms (goal <= 1.5x)"
	echo "peak: $3 orders/s = $(ratio_x "$3" "$4") the one-commit-per-order ceiling $4/s (goal >= 3x)"
}
