# tests/bench/lib.sh - sourced by the bench scripts: a scratch directory that
# goes away, a daemon that is stopped, and two ways to read wrk's line.
# Set dir before sourcing; pid holds the daemon's process id once started.
rm -rf "$dir"
mkdir -p "$dir"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
