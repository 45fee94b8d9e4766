# tests/e2e/lib.sh - sourced by every tests/e2e/NN-*.sh (which re-exec into
# bash first; this file uses bash arrays and /dev/tcp).
#
# Harness:   ok NAME | fail NAME DETAIL | check NAME CMD... |
#            expect_status NAME WANT GOT (WANT may be "400|422") | finish
# Daemon:    start_daemon [flags]  fresh dir, key, accounts, free port, waits for /healthz
#            stop_daemon           SIGTERM, asserts exit status 0
#            daemon_up [flags]     (re)start on the same dir; restart_daemon = stop + up;
#                                  DAEMON_DB (default $DB), DAEMON_ENV=(VAR=value ...)
#                                  and DAEMON_WAIT_S (default 10) change how (tests/torture)
#            add_account NAME ROLE [DEPOT [PHONE]]   token in ${TOK[NAME]}, phone in ${PHONE[NAME]}
#            ctl ARGS...           waybillctl --db $DB --key-file $DIR/key ARGS
# Backend:   DB is the test's database: $DIR/db (SQLite), or with WAYBILL_TEST_PG=SOCKETDIR
#            (a cluster tests/pg.sh started) a fresh PostgreSQL database's URL.
#            is_pg | db_sql SQL (on the test's database; SQLite or PostgreSQL syntax is
#            the caller's: check is_pg) | db_sql_at DB SQL | db_copy NAME (an online
#            copy, its --db printed) | audit_unguard DB (drops the append-only triggers) |
#            db_files DEST (its raw bytes on disk as DEST/db, DEST/db-wal; 1 when it
#            could read none) | skip_on_pg REASON (ends a script that cannot
#            apply to PostgreSQL, saying why) | audit_fault on|off (a trigger refusing
#            new audit entries, either backend)
# Client:    api [-H HEADER]... METHOD PATH TOKEN [BODY_FILE | -d DATA]
#            -> $STATUS, body in $BODY (file); TOKEN "-" sends no Authorization.
#            Every body is appended to $DIR/bodies, every non-2xx one to $DIR/error_bodies.
#            jb FILTER  = jq -r FILTER "$BODY"
#            bulk METHOD TOKEN OUTDIR [BODYDIR] < "N PATH" lines (parallel)
#            audit_all OUT [QUERY]  every audit entry (all pages) as a JSON array
# Fixtures:  FIXTURES (tests/data/orders.jsonl); fixture N (0-based line);
#            fixtures_pii OUT  writes a grep -F pattern file of every name, phone
#            notation, street address and house number in the fixtures.
#            tn_check TN       MOD 97-10 check over the 18 digits (awk)
#            no_pii NAME FILE...  asserts no fixture personal data in the raw bytes
#
# Env: BIN (default bin), KEEP=1 keeps the temp dir, VERBOSE=1 prints bodies on failure.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
WBD=$BIN/waybilld
WBCTL=$BIN/waybillctl
FIXTURES=$ROOT/tests/data/orders.jsonl
export LC_ALL=C.UTF-8

PASS=0
FAIL=0
DIR=
DPID=
PORT=
URL=
BODY=
STATUS=
DAEMON_FLAGS=()
DAEMON_DB=
DAEMON_ENV=()
DAEMON_WAIT_S=10
DB=
PG_DB=
declare -A TOK PHONE

# ---- backend -------------------------------------------------------------------

is_pg() {
	[ -n "${WAYBILL_TEST_PG:-}" ]
}

pg_url() {
	echo "postgresql:///$1?host=$WAYBILL_TEST_PG&user=waybill"
}

# db_sql SQL: run SQL on the test's database, rows as "a|b" lines.
db_sql() {
	if is_pg; then
		psql -qAtX -v ON_ERROR_STOP=1 "$DB" -c "$1"
	else
		sqlite3 "$DIR/db" "$1"
	fi
}

# db_sql_at DB SQL: the same on another database of the test (a db_copy).
db_sql_at() {
	case $1 in
	postgresql:* | postgres:*) psql -qAtX -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
	*) sqlite3 "$1" "$2" ;;
	esac
}

# db_copy NAME: an online copy of the test's database (SQLite's .backup into
# $DIR/NAME; PostgreSQL's pg_dump into a new database, dropped with the
# test's), its name for --db printed.
db_copy() {
	local name=$1 url
	if is_pg; then
		url=$(pg_url "${PG_DB}_$name")
		psql -qAtX "$(pg_url postgres)" -c "SET client_min_messages = warning" \
			-c "DROP DATABASE IF EXISTS ${PG_DB}_$name WITH (FORCE)" \
			-c "CREATE DATABASE ${PG_DB}_$name" >/dev/null || return 1
		pg_dump --no-owner "$DB" | psql -qAtX -v ON_ERROR_STOP=1 "$url" >/dev/null || return 1
		echo "$url"
	else
		rm -f "$DIR/$name" "$DIR/$name-wal" "$DIR/$name-shm"
		sqlite3 "$DIR/db" ".backup '$DIR/$name'" || return 1
		echo "$DIR/$name"
	fi
}

# audit_unguard DB: drop the triggers that keep the audit table append-only,
# as an insider with the schema's rights can (either backend).
audit_unguard() {
	case $1 in
	postgresql:* | postgres:*)
		db_sql_at "$1" 'DROP TRIGGER audit_no_update ON audit; DROP TRIGGER audit_no_delete ON audit' ;;
	*) db_sql_at "$1" 'DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;' ;;
	esac
}

# db_files DEST: the test database's bytes on disk now, as DEST/db and
# DEST/db-wal (and DEST/db-shm on SQLite): SQLite's three files; on
# PostgreSQL, after a CHECKPOINT (so what was committed is in the heap
# files), the database's directory under base/ as one file and the cluster's
# write-ahead log as the other.  The raw bytes an insider with a copy of the
# disk reads, on either backend.
db_files() {
	local dest=$1 oid data=$WAYBILL_TEST_PG/data
	mkdir -p "$dest"
	if is_pg; then
		oid=$(db_sql "CHECKPOINT; SELECT oid FROM pg_database WHERE datname = current_database()") ||
			return 1
		cat "$data/base/$oid"/* >"$dest/db" 2>/dev/null
		cat "$data"/pg_wal/0* >"$dest/db-wal" 2>/dev/null
	else
		cp "$DIR"/db* "$dest/" 2>/dev/null
	fi
	# Nothing read (the server's files not readable by this user) must not pass as clean.
	[ -s "$dest/db" ] || { echo "db_files: cannot read the database's files" >&2; return 1; }
}

# audit_fault on|off: a trigger that refuses every new audit entry, as a full
# disk would (the daemon must be stopped around it on SQLite).
audit_fault() {
	if is_pg && [ "$1" = on ]; then
		db_sql "CREATE OR REPLACE FUNCTION audit_fault() RETURNS trigger LANGUAGE plpgsql AS
			\$\$ BEGIN RAISE EXCEPTION 'disk full'; END \$\$;
			CREATE TRIGGER audit_fault BEFORE INSERT ON audit FOR EACH ROW
			EXECUTE FUNCTION audit_fault()" >/dev/null
	elif is_pg; then
		db_sql "DROP TRIGGER audit_fault ON audit" >/dev/null
	elif [ "$1" = on ]; then
		sqlite3 "$DIR/db" "CREATE TRIGGER audit_fault BEFORE INSERT ON audit
			BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
	else
		sqlite3 "$DIR/db" "DROP TRIGGER audit_fault"
	fi
}

# skip_on_pg REASON: this script checks SQLite itself (its file, its pragmas):
# on PostgreSQL it says so and ends as passed with one check, the reason.
skip_on_pg() {
	is_pg || return 0
	echo "skip on PostgreSQL: $1"
	ok "skipped on PostgreSQL ($1)"
	finish
}

# ---- harness ----------------------------------------------------------------

ok() {
	PASS=$((PASS + 1))
	echo "ok   $1"
}

fail() {
	FAIL=$((FAIL + 1))
	echo "FAIL $1${2:+: $2}"
}

# check NAME CMD...: ok when CMD exits 0 (its stdout is dropped).
check() {
	local name=$1
	shift
	if "$@" >/dev/null; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# expect_status NAME WANT GOT: WANT is a code or codes joined by "|".
expect_status() {
	local name=$1 want=$2 got=$3
	case "|$want|" in
	*"|$got|"*) ok "$name" ;;
	*) fail "$name" "want HTTP $want, got $got; body: $(snip "$BODY")" ;;
	esac
}

# snip FILE: its first 300 bytes, cut on a character boundary (logs stay UTF-8).
snip() {
	head -c 300 "$1" 2>/dev/null | iconv -c -f UTF-8 -t UTF-8 2>/dev/null
}

# Stop the test here: a step everything after depends on failed.
die() {
	fail "$1" "$2"
	finish
}

finish() {
	daemon_check
	if [ $((PASS + FAIL)) -eq 0 ]; then
		FAIL=1
		echo "FAIL no assertion ran"
	fi
	# What the daemon said went wrong: tests/run.sh shows these with the failures.
	if [ "$FAIL" -ne 0 ] && [ -n "$DIR" ] && [ -s "$DIR/log" ]; then
		grep -E ' level=(error|warn) ' "$DIR/log" | grep -v 'signal 15' | tail -n 8 |
			sed 's/^/daemon log: /'
	fi
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ] && exit 0
	exit 1
}

# ---- daemon -------------------------------------------------------------------

cleanup() {
	local rc=$?
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	if [ -n "$PG_DB" ] && [ "${KEEP:-0}" != 1 ]; then
		local c
		# db_copy's copies, named after it (made in subshells: found by name)
		for c in $(psql -qAtX "$(pg_url postgres)" \
			-c "SELECT datname FROM pg_database WHERE starts_with(datname, '${PG_DB}_')"); do
			psql -qAtX "$(pg_url postgres)" -c "DROP DATABASE IF EXISTS $c WITH (FORCE)" \
				>/dev/null 2>&1
		done
		psql -qAtX "$(pg_url postgres)" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
			>/dev/null 2>&1
	fi
	if [ -n "$DIR" ] && [ -d "$DIR" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept $DIR" >&2
		else
			rm -rf "$DIR"
		fi
	fi
	exit "$rc"
}

ctl() {
	"$WBCTL" --db "$DB" --key-file "$DIR/key" "$@"
}

# add_account NAME ROLE [DEPOT [PHONE]]: couriers get a phone (assignment needs one).
COURIER_PHONES=0
add_account() {
	local name=$1 role=$2 depot=${3:-} phone=${4:-} t args
	args=(account add --name "$name" --role "$role")
	[ -n "$depot" ] && args+=(--depot "$depot")
	if [ -z "$phone" ] && [ "$role" = courier ]; then
		COURIER_PHONES=$((COURIER_PHONES + 1))
		phone=+86139000000$(printf '%02d' "$COURIER_PHONES")
	fi
	[ -n "$phone" ] && args+=(--phone "$phone")
	t=$(ctl "${args[@]}") || return 1
	[ -n "$t" ] || return 1
	TOK[$name]=$t
	PHONE[$name]=$phone
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port: a free port below the kernel's ephemeral range, where no
# outgoing connection (curl's, wrk's) can be holding it by the time the
# daemon binds (one was, once, for the TLS restart of 55-tls).
pick_port() {
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 12000 ] 2>/dev/null || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# daemon_up [flags]: start waybilld on $DIR (flags remembered for restarts),
# on the database DAEMON_DB ($DB when empty), with DAEMON_ENV in its
# environment, waiting DAEMON_WAIT_S seconds at most for /healthz.
daemon_up() {
	[ $# -gt 0 ] && DAEMON_FLAGS=("$@")
	local try
	for try in 1 2 3 4 5; do
		PORT=$(pick_port) || return 1
		URL=http://127.0.0.1:$PORT
		env "${DAEMON_ENV[@]}" "$WBD" --db "${DAEMON_DB:-$DB}" --key-file "$DIR/key" \
			--listen "127.0.0.1:$PORT" "${DAEMON_FLAGS[@]}" 2>>"$DIR/log" &
		DPID=$!
		for _ in $(seq $((DAEMON_WAIT_S * 20))); do
			if curl -fs -o /dev/null --max-time 1 "$URL/healthz"; then
				return 0
			fi
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$DPID" 2>/dev/null; then
			kill -KILL "$DPID"
			wait "$DPID" 2>/dev/null
			DPID=
			echo "waybilld did not answer /healthz in $DAEMON_WAIT_S s" >&2
			return 1
		fi
		wait "$DPID" 2>/dev/null
		DPID=
		# Lost a race for the port: try another one.
		tail -n 1 "$DIR/log" | grep -q 'cannot listen' || break
	done
	echo "waybilld failed to start:" >&2
	tail -n 5 "$DIR/log" >&2
	return 1
}

# start_daemon [flags]: fresh dir, key and the standard accounts, then daemon_up.
start_daemon() {
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/waybill-e2e.XXXXXX") || die setup "mktemp failed"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	BODY=$DIR/body
	DB=$DIR/db
	if is_pg; then
		PG_DB=wb_$(basename "$DIR" | tr -c 'a-zA-Z0-9\n' _ | tr 'A-Z' 'a-z')
		psql -qAtX "$(pg_url postgres)" -c "CREATE DATABASE $PG_DB" >/dev/null ||
			die setup "cannot create the PostgreSQL database $PG_DB"
		DB=$(pg_url "$PG_DB")
	fi
	# Each test's daemons sign their own checkpoints (the default is under var/).
	export WAYBILL_AUDIT_CHECKPOINTS=$DIR/audit.checkpoints
	: >"$DIR/bodies"
	: >"$DIR/error_bodies"
	[ -x "$WBD" ] && [ -x "$WBCTL" ] || die setup "no $WBD or $WBCTL: run make"
	"$WBCTL" keygen --out "$DIR/key" 2>/dev/null || die setup "keygen failed"
	local a
	for a in "c1 courier d1" "c2 courier d1" "c3 courier d2" "dep1 depot d1" \
		"dep2 depot d2" "adm1 admin" "aud1 auditor" "tel1 telephony"; do
		# shellcheck disable=SC2086
		add_account $a || die setup "account add $a failed"
	done
	daemon_up "$@" || die setup "waybilld did not start"
}

# daemon_check: when the daemon we started has died, say how and stop the test
# (everything after would fail for the same reason).
daemon_check() {
	[ -n "$DPID" ] || return 0
	kill -0 "$DPID" 2>/dev/null && return 0
	local rc how
	wait "$DPID" 2>/dev/null
	rc=$?
	DPID=
	how="exit status $rc"
	[ "$rc" -gt 128 ] && how="killed by signal $((rc - 128))"
	tail -n 3 "$DIR/log" | grep -q 'signal 15: draining' && how="$how after a SIGTERM it did not get from this test"
	fail "waybilld died under the test" "$how; log tail: $(tail -n 3 "$DIR/log" | tr '\n' '|')"
	finish
}

# stop_daemon: SIGTERM; returns the exit status (asserted 0 as "NAME").
stop_daemon() {
	local name=${1:-sigterm exits 0} rc
	[ -n "$DPID" ] || { fail "$name" "no daemon running"; return 1; }
	kill -TERM "$DPID"
	for _ in $(seq 150); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$DPID" 2>/dev/null; then
		kill -KILL "$DPID"
		wait "$DPID" 2>/dev/null
		DPID=
		fail "$name" "still running 15 s after SIGTERM"
		return 1
	fi
	wait "$DPID"
	rc=$?
	DPID=
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	else
		fail "$name" "exit status $rc; log tail: $(grep -v ' level=info ' "$DIR/log" | tail -n 5 | tr '\n' '|')"
	fi
	return "$rc"
}

restart_daemon() {
	stop_daemon "${1:-sigterm exits 0 (before restart)}"
	daemon_up || die restart "waybilld did not come back"
}

# ---- client -------------------------------------------------------------------

api() {
	local hdrs=() has_ct=0
	while [ "${1:-}" = -H ]; do
		hdrs+=(-H "$2")
		case $2 in [Cc]ontent-[Tt]ype:*) has_ct=1 ;; esac
		shift 2
	done
	local method=$1 path=$2 token=$3
	shift 3
	local args=(-s -o "$BODY" -w '%{http_code}' -X "$method" --max-time 30)
	[ "$token" != - ] && args+=(-H "Authorization: Bearer $token")
	if [ $# -gt 0 ]; then
		if [ "$1" = -d ]; then
			printf '%s' "$2" >"$DIR/.api-data"
			args+=(--data-binary "@$DIR/.api-data")
		else
			args+=(--data-binary "@$1")
		fi
		[ "$has_ct" = 1 ] || args+=(-H "Content-Type: application/json")
	fi
	: >"$BODY"
	STATUS=$(curl "${args[@]}" "${hdrs[@]}" "$URL$path") || STATUS=000
	[ "$STATUS" != 000 ] || daemon_check
	{ cat "$BODY"; echo; } >>"$DIR/bodies"
	case $STATUS in 2*) ;; *) { cat "$BODY"; echo; } >>"$DIR/error_bodies" ;; esac
}

jb() {
	jq -r "$@" "$BODY" 2>/dev/null
}

# An error body is {"error":{"code","message","field"?,"request_id"?}} and nothing else.
ERROR_SHAPE='(type == "object") and (keys == ["error"]) and (.error | type == "object")
	and (.error.code | type == "string" and length > 0)
	and (.error.message | type == "string" and length > 0)
	and ((.error | keys) - ["code", "message", "field", "request_id"] == [])
	and ((.error.field // "") | type == "string")'
error_shape_ok() {
	jq -e "$ERROR_SHAPE" "${1:-$BODY}" >/dev/null 2>&1
}

# expect_error NAME STATUS CODE [FIELD]: the last answer was that error
# (CODE or FIELD empty: not checked).
expect_error() {
	local name=$1 want=$2 code=$3 field=${4:-} got shape gcode gfield
	expect_status "$name: status" "$want" "$STATUS"
	got=$(jq -r "[($ERROR_SHAPE), .error.code, (.error.field // \"\")] | @tsv" "$BODY" 2>/dev/null)
	IFS=$'\t' read -r shape gcode gfield <<<"$got"
	if [ "$shape" != true ]; then
		fail "$name: error body shape" "$(snip "$BODY")"
		return
	fi
	if [ -n "$code" ]; then
		if [ "$gcode" = "$code" ]; then ok "$name: code $code"; else fail "$name: code" "want $code, got $gcode"; fi
	fi
	if [ -n "$field" ]; then
		if [ "$gfield" = "$field" ]; then ok "$name: field $field"; else fail "$name: field" "want $field, got '$gfield'"; fi
	fi
}

# bulk METHOD TOKEN OUTDIR [BODYDIR] <<< "N PATH" lines: every request, 8 at a
# time in one curl --parallel; the answer to line N in OUTDIR/N.json (its body
# from BODYDIR/N.json), "N CODE" lines in OUTDIR.codes.
bulk() {
	local method=$1 token=$2 out=$3 bodies=${4:-} n p first=1
	mkdir -p "$out"
	while read -r n p; do
		[ "$first" = 1 ] || echo next
		first=0
		printf 'url = "%s%s"\nrequest = "%s"\noutput = "%s/%s.json"\nwrite-out = "%s %%{http_code}\\n"\nmax-time = 60\n' \
			"$URL" "$p" "$method" "$out" "$n" "$n"
		[ "$token" = - ] || printf 'header = "Authorization: Bearer %s"\n' "$token"
		[ -z "$bodies" ] ||
			printf 'header = "Content-Type: application/json"\ndata-binary = "@%s/%s.json"\n' "$bodies" "$n"
	done >"$out.curl"
	curl -s --no-progress-meter --parallel --parallel-max 8 -K "$out.curl" >"$out.codes" 2>"$out.err"
}

# audit_all OUT [QUERY]: every page of GET /v1/audit?QUERY as aud1, the entries
# as one JSON array in OUT.  Returns 1 on a non-200.
audit_all() {
	local out=$1 q=${2:-} after=""
	: >"$out.part"
	for _ in $(seq 1000); do
		api GET "/v1/audit?limit=1000${q:+&$q}${after:+&after_seq=$after}" "${TOK[aud1]}"
		[ "$STATUS" = 200 ] || return 1
		jq -c '.entries[]' "$BODY" >>"$out.part"
		after=$(jb '.next_after_seq // ""')
		[ -n "$after" ] || break
	done
	jq -s . "$out.part" >"$out"
	rm -f "$out.part"
}

# ---- fixtures -----------------------------------------------------------------

# fixture N: the Nth order (0-based) as one JSON line.
fixture() {
	sed -n "$(($1 + 1))p" "$FIXTURES"
}

# tn_check TN: PREFIX + 16 digits + 2 check digits, ISO 7064 MOD 97-10.
tn_check() {
	printf '%s\n' "$1" | grep -Eq '^WB[0-9]{18}$' || return 1
	printf '%s\n' "${1#WB}" | awk '{ r = 0; for (i = 1; i <= length($0); i++) r = (r * 10 + substr($0, i, 1)) % 97; exit !(r == 1) }'
}

# tn_make DIGITS16: a well-formed tracking number for those digits.
tn_make() {
	awk -v d="$1" 'BEGIN { r = 0; for (i = 1; i <= 16; i++) r = (r * 10 + substr(d, i, 1)) % 97;
		c = 98 - (r * 100) % 97; printf "WB%s%02d\n", d, c }'
}

# fixtures_pii OUT: one grep -F pattern per line.  Names; phones as written,
# digits only, +86 normalized, bare national (with and without the trunk 0),
# and spaced/dashed notations of mobiles; full street addresses, road plus
# house number, and house numbers of three digits or more ("457号").  Patterns
# that are also a clear region name (province, city, district: not personal
# data) are left out.  So are bare house numbers of one or two digits: "4号"
# is 4 bytes, and compressed PDF streams, fonts and sealed blobs are random
# bytes where 4 given bytes turn up by chance once in ~4 GB: with the seven
# "N号" patterns, once in ~600 MB scanned - a few percent of suite runs (seen
# once, under make sanitize).  They identify no one, and the addresses they
# are part of stay patterns.
fixtures_pii() {
	local out=$1
	jq -r '
	  def digits: gsub("[^0-9]"; "");
	  def national: (digits) as $d
	    | if test("^\\+") then ($d | ltrimstr("86"))
	      elif ($d | test("^0")) then ($d | ltrimstr("0"))
	      else $d end;
	  (.sender, .recipient)
	  | .name,
	    .address,
	    (.address | capture("^(?<r>[^0-9]*[0-9]+号)").r // empty),
	    (.address | [scan("[0-9]{3,}号")][]),
	    (.phone as $p | ($p | national) as $n
	      | $p, ($p | digits), $n, ("+86" + $n), ("86" + $n),
	        (if ($n | length) == 11 and ($n | test("^1")) then
	           ($n[0:3] + " " + $n[3:7] + " " + $n[7:11]),
	           ($n[0:3] + "-" + $n[3:7] + "-" + $n[7:11]),
	           ("+86 " + $n[0:3] + " " + $n[3:7] + " " + $n[7:11])
	         else ("0" + $n) end))
	' "$FIXTURES" | sort -u >"$out.all"
	jq -r '(.sender, .recipient) | .province, .city, .district' "$FIXTURES" | sort -u >"$out.regions"
	# Drop a pattern that occurs inside a region name.
	awk 'NR == FNR { reg[NR] = $0; n = NR; next }
	     { for (i = 1; i <= n; i++) if (index(reg[i], $0)) next; print }' \
		"$out.regions" "$out.all" >"$out"
	rm -f "$out.all" "$out.regions"
}

# no_pii NAME FILE...: none of the fixture patterns in the raw bytes of the files.
no_pii() {
	local name=$1 f hits
	shift
	[ -s "$DIR/pii" ] || fixtures_pii "$DIR/pii"
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			ok "$name: $(basename "$f") absent"
			continue
		fi
		hits=$(LC_ALL=C grep -a -o -F -f "$DIR/pii" "$f" | sort -u | head -n 5 | tr '\n' ' ')
		if [ -z "$hits" ]; then
			ok "$name: $(basename "$f") clean"
		else
			fail "$name: $(basename "$f")" "personal data in raw bytes: $hits"
		fi
	done
}
