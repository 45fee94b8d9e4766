# waybill - `make run` and `make test` are the two commands a newcomer needs.
# Both install missing Debian packages first (apt-get, as root or via sudo).

CC      ?= cc
PKGS    := libmicrohttpd libcjson sqlite3 libsodium harfbuzz harfbuzz-subset libsystemd zlib \
           libcurl cjose libpq freetype2 libpng gnutls
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  += -std=c11 $(OPT) $(WARN) -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
           -fno-strict-aliasing -pthread
LIBS    := -lhpdf -lzint -lm -pthread -Wl,--export-dynamic-symbol=MHD_queue_response
BUILD   ?= build
BIN     ?= bin

# Debian packages: build, run, and test.  Checked one by one, installed only
# when missing, so a configured machine pays nothing.
DEB_BUILD := build-essential pkg-config libmicrohttpd-dev libcjson-dev libhpdf-dev \
             libsqlite3-dev libsodium-dev libzint-dev libharfbuzz-dev libgnutls28-dev \
             fonts-wqy-microhei libsystemd-dev zlib1g-dev libcurl4-openssl-dev libcjose-dev \
             libjansson-dev libpq-dev libfreetype-dev libpng-dev
DEB_TEST  := curl jq sqlite3 poppler-utils zbar-tools qpdf tesseract-ocr \
             tesseract-ocr-chi-sim wrk python3 openssl systemd strace nginx prometheus nodejs \
             chromium postgresql
DEB_FUZZ  := clang libclang-rt-14-dev
DEB_DEV   := clang-format cppcheck
DEPS_STAMP := $(BUILD)/.deps

SRCS    := $(filter-out server/main.c server/ctl.c,$(wildcard server/*.c))
OBJS    := $(SRCS:server/%.c=$(BUILD)/%.o) $(BUILD)/schema.o $(BUILD)/schema_pg.o \
           $(BUILD)/version.o
SCHEMA  := $(sort $(wildcard schema/[0-9][0-9][0-9][0-9]-*.sql))
SCHEMA_PG := $(sort $(wildcard schema/pg/[0-9][0-9][0-9][0-9]-*.sql))
UNIT    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
# The fuzz targets (tests/fuzz/fuzz_NAME.c); make test replays each corpus.
FUZZ_TARGETS := mask order vnum config label http
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzzreplay_%)

.PHONY: FORCE all deps apt-install lint format-check run test test-pg unit e2e sanitize bench bench-pg check format fuzz clean docs station-shots

all: $(BIN)/waybilld $(BIN)/waybillctl

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@$(MAKE) --no-print-directory apt-install PKGS_WANTED="$(DEB_BUILD) $(DEB_TEST)"
	@mkdir -p $(BUILD) && touch $@

apt-install:
	@missing=""; for p in $(PKGS_WANTED); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null || exit 1; fi

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

Q = @
ifeq ($(V),1)
Q =
endif

$(BUILD)/%.o: server/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

# The numbered migrations, embedded so the daemon needs no files beside it.
$(BUILD)/schema.c: $(SCHEMA) Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@{ echo '/* generated from schema/ by the Makefile; do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'struct migration { int version; const char *name; const char *sql; };'; \
	  echo 'extern const struct migration schema_migrations[];'; \
	  echo 'extern const size_t schema_migrations_count;'; \
	  echo 'const struct migration schema_migrations[] = {'; \
	  for f in $(SCHEMA); do b=$$(basename $$f .sql); \
	    printf '{%d, "%s",\n' "$$(echo $$b | cut -c1-4 | sed 's/^0*//')" "$${b#*-}"; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; echo '},'; done; \
	  echo '};'; \
	  echo 'const size_t schema_migrations_count = sizeof(schema_migrations) / sizeof(schema_migrations[0]);'; \
	} > $@

$(BUILD)/schema.o: $(BUILD)/schema.c
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# PostgreSQL's migrations (schema/pg/), numbered as SQLite's, embedded the same way.
$(BUILD)/schema_pg.c: $(SCHEMA_PG) Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@{ echo '/* generated from schema/pg/ by the Makefile; do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'struct pg_migration { int version; const char *name; const char *sql; };'; \
	  echo 'extern const struct pg_migration pg_schema_migrations[];'; \
	  echo 'extern const size_t pg_schema_migrations_count;'; \
	  echo 'const struct pg_migration pg_schema_migrations[] = {'; \
	  for f in $(SCHEMA_PG); do b=$$(basename $$f .sql); \
	    printf '{%d, "%s",\n' "$$(echo $$b | cut -c1-4 | sed 's/^0*//')" "$${b#*-}"; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; echo '},'; done; \
	  echo '};'; \
	  echo 'const size_t pg_schema_migrations_count = sizeof(pg_schema_migrations) / sizeof(pg_schema_migrations[0]);'; \
	} > $@

$(BUILD)/schema_pg.o: $(BUILD)/schema_pg.c
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# The version and the commit it was built from (waybilld --version, the
# waybill_build_info metric).  Without git (a container build without .git),
# pass COMMIT=...; the file is rewritten only when either changes.
VERSION := 0.13.0
COMMIT  ?= $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) || c=unknown; \
	   [ "$$c" = unknown ] || git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c)
$(BUILD)/version.c: FORCE | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' '/* generated by the Makefile; do not edit */' \
	  'const char waybill_version[] = "$(VERSION)";' \
	  'const char waybill_commit[] = "$(COMMIT)";' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/version.o: $(BUILD)/version.c server/version.h
	$(Q)$(CC) $(CFLAGS) -include server/version.h -c -o $@ $<

FORCE:

$(BUILD)/libwaybill.a: $(OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/waybilld: $(BUILD)/main.o $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS) $(LDFLAGS)

$(BIN)/waybillctl: $(BUILD)/ctl.o $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -MMD -MP -o $@ $< $(BUILD)/libwaybill.a \
	  $(PKG_LIBS) $(LIBS) $(LDFLAGS)

-include $(OBJS:.o=.d) $(BUILD)/main.d $(BUILD)/ctl.d $(UNIT:=.d)

# --- running -------------------------------------------------------------

run: all
	@sh deploy/dev-setup.sh
	exec $(BIN)/waybilld --config deploy/dev.conf

# --- tests ---------------------------------------------------------------

# The OpenID provider that tests/e2e/65-oidc.sh starts, pinned by package.json
# and package-lock.json, installed into node_modules/ (git-ignored).
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json | $(DEPS_STAMP)
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt-install PKGS_WANTED=npm
	@echo "  NPM     ci"
	$(Q)npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: all $(UNIT) $(BUILD)/tests/label_sample $(BUILD)/torture/eio_shim.so $(FUZZ_REPLAY) \
      $(NODE_STAMP)
	@BUILD=$(BUILD) BIN=$(BIN) sh tests/run.sh

unit: $(UNIT) $(FUZZ_REPLAY)
	@BUILD=$(BUILD) BIN=$(BIN) sh tests/run.sh unit

# Only the PostgreSQL pass of the e2e suite (make test runs it after SQLite's).
test-pg: all $(BUILD)/tests/label_sample $(NODE_STAMP)
	@BUILD=$(BUILD) BIN=$(BIN) sh tests/run.sh e2e-pg

e2e: all $(BUILD)/tests/label_sample $(NODE_STAMP)
	@BUILD=$(BUILD) BIN=$(BIN) sh tests/run.sh e2e

# The fault suite: kill -9 under 16 writers, SIGTERM under load, a full disk, EIO through
# an LD_PRELOAD shim; figures and "N passed, N failed" (tests/torture/run.sh).  make test
# runs a short version (tests/e2e/95-torture-short.sh, 3 cycles).
.PHONY: torture
TORTURE_CYCLES ?= 20
$(BUILD)/torture/eio_shim.so: tests/torture/eio_shim.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) -std=c11 -O2 $(WARN) -fPIC -shared -o $@ $< -ldl

torture: all $(BUILD)/torture/eio_shim.so
	@BUILD=$(BUILD) BIN=$(BIN) TORTURE_CYCLES=$(TORTURE_CYCLES) sh tests/torture/run.sh

# The same suite, built with AddressSanitizer and UndefinedBehaviorSanitizer.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
sanitize: deps
	$(MAKE) BUILD=build-san BIN=build-san/bin OPT="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" test

$(BUILD)/bench/sqlite_ceiling: tests/bench/sqlite_ceiling.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lsqlite3 -lm

$(BUILD)/bench/label_render: tests/bench/label_render.c tests/unit/label_sample.c $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -o $@ $< $(BUILD)/libwaybill.a $(PKG_LIBS) $(LIBS)

$(BUILD)/bench/audit_fill: tests/bench/audit_fill.c $(BUILD)/libwaybill.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -o $@ $< $(BUILD)/libwaybill.a $(PKG_LIBS) $(LIBS)

bench: all $(BUILD)/bench/sqlite_ceiling $(BUILD)/bench/label_render
	@BIN=$(BIN) BUILD=$(BUILD) sh tests/bench/run.sh

# One, two and three daemons over one PostgreSQL 15 cluster of its own
# (fsync on) next to bare inserts of the same rows, and the audit chain's two
# designs replayed with pgbench (issue 15 parts 3 and 6); docs/performance.md.
bench-pg: all $(BUILD)/bench/waybilld-chains
	@BIN=$(BIN) BUILD=$(BUILD) sh tests/bench/pg.sh

# bench-pg's prototype of the other audit design: store_pg.c and
# store_pg_rows.c built with WB_BENCH_CHAINS (a chain per daemon), linked
# ahead of libwaybill.a so their symbols are the ones taken.  Measured,
# never installed.
$(BUILD)/bench/%_chains.o: server/%.c server/store_pg.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -DWB_BENCH_CHAINS -c -o $@ $<

$(BUILD)/bench/waybilld-chains: $(BUILD)/main.o $(BUILD)/bench/store_pg_chains.o \
		$(BUILD)/bench/store_pg_rows_chains.o $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(LIBS) $(LDFLAGS)

# libFuzzer targets (clang), each run for FUZZ_SECS on its seed corpus.  The
# server is built a second time into $(BUILD)/fuzz/ with coverage, ASan and
# UBSan (fatal: -fno-sanitize-recover), so every module a target reaches is
# instrumented.  `make test` replays each corpus through the same target
# file linked with tests/fuzz/replay.c (gcc, no clang needed).
FUZZ_SECS ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -g -O1 $(FUZZ_SAN) -iquote server $(PKG_CFLAGS) -pthread \
	       -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-zero-length
FUZZ_OBJS   := $(SRCS:server/%.c=$(BUILD)/fuzz/obj/%.o) $(BUILD)/fuzz/obj/schema.o \
	       $(BUILD)/fuzz/obj/schema_pg.o $(BUILD)/fuzz/obj/version.o
$(BUILD)/fuzz/obj/%.o: server/%.c | $(BUILD)/.deps-fuzz
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(BUILD)/fuzz/obj/schema.o: $(BUILD)/schema.c | $(BUILD)/.deps-fuzz
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/obj/schema_pg.o: $(BUILD)/schema_pg.c | $(BUILD)/.deps-fuzz
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/obj/version.o: $(BUILD)/version.c server/version.h | $(BUILD)/.deps-fuzz
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -include server/version.h -c -o $@ $<
$(BUILD)/fuzz/libwaybill.a: $(FUZZ_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libwaybill.a
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libwaybill.a \
	  $(PKG_LIBS) $(LIBS)
$(BUILD)/tests/fuzzreplay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	@echo "  REPLAY  $@"
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -o $@ $< tests/fuzz/replay.c \
	  $(BUILD)/libwaybill.a $(PKG_LIBS) $(LIBS) $(LDFLAGS)
-include $(FUZZ_OBJS:.o=.d)
$(BUILD)/.deps-fuzz:
	@$(MAKE) --no-print-directory apt-install PKGS_WANTED="$(DEB_FUZZ)"
	@mkdir -p $(BUILD) && touch $@
fuzz: $(BUILD)/.deps-fuzz $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do mkdir -p $(BUILD)/fuzz/corpus_$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECS) s" && \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(BUILD)/fuzz/fuzz_$$t -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	    -max_total_time=$(FUZZ_SECS) -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus_$$t tests/fuzz/corpus_$$t || exit 1; done

# check = format + lint + test.
$(BUILD)/.deps-dev:
	@$(MAKE) --no-print-directory apt-install PKGS_WANTED="$(DEB_DEV)"
	@mkdir -p $(BUILD) && touch $@

check: format-check lint test

format: $(BUILD)/.deps-dev
	clang-format -i server/*.c server/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

format-check: $(BUILD)/.deps-dev
	@clang-format --dry-run --Werror server/*.c server/*.h tests/unit/*.c tests/unit/*.h \
	  tests/fuzz/*.c

lint: $(BUILD)/.deps-dev
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --std=c11 -D__GNUC__ -Iserver --suppress=missingIncludeSystem server/

clean:
	rm -rf build build-san bin

# --- labels: sample renderer and docs pictures ---------------------------
# label_sample renders fixture orders in any format and dpi without the
# daemon (tests/unit/label_sample.c; tests/e2e/61-label-formats.sh uses it);
# `make docs` draws one label of each size, with a sort code, through the
# raster canvas at a thermal printer's 203 dpi into docs/label-SIZE.png, and
# the 100x150 one as ZPL into docs/label-100x150.zpl.
LABEL_SIZES := 100x150 100x180 76x130

$(BUILD)/tests/label_sample: tests/unit/label_sample.c $(BUILD)/libwaybill.a
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) -Iserver -MMD -MP -o $@ $< $(BUILD)/libwaybill.a \
	  $(PKG_LIBS) $(LIBS) $(LDFLAGS)

-include $(BUILD)/tests/label_sample.d

# The station's pictures in the README: 67-station's browser run, keeping its screenshots.
station-shots: all $(NODE_STAMP)
	@SHOTS=docs sh tests/e2e/67-station.sh | tail -n 1

docs: $(LABEL_SIZES:%=docs/label-%.png) docs/label-100x150.zpl

docs/label-%.png: $(BUILD)/tests/label_sample templates/%.tmpl tests/data/orders.jsonl
	$(Q)$(BUILD)/tests/label_sample -S -s $* -i 0 -F png -d 203 -o $@

docs/label-100x150.zpl: $(BUILD)/tests/label_sample templates/100x150.tmpl tests/data/orders.jsonl
	$(Q)$(BUILD)/tests/label_sample -S -s 100x150 -i 0 -F zpl -d 203 -o $@
