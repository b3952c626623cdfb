# ntpmon — top-level, non-recursive build. Each part adds its own rules in <dir>/module.mk using the
# `part` macro below; tests/unit/<dir>/test_*.c become unit-test binaries linked with that part.
#
#   make            build everything (build/)
#   make test       install deps, build normal + ASan/UBSan variants, run every test; ends "N passed, N failed"
#   make test-stress  the same suite STRESS_RUNS times (5) beside STRESS_HOGS (2) CPU-bound loops
#   make demo       install deps, build, run the whole pipeline on loopback (see README)
#   make fuzz       build and run the libFuzzer targets for a bounded time
#   make bench      run every benchmark under bench/ and write bench/RESULTS.md

include config.mk

.DEFAULT_GOAL := all
PROGRAMS :=
UNIT_TESTS :=
TEST_TOOLS :=
EXTRA_TARGETS :=

# ---- common library (static, plus a PIC variant for the mosquitto plugin) ----
COMMON_SRCS := $(wildcard common/*.c)
COMMON_LIB := $(B)/lib/libntpmon.a
COMMON_PIC_LIB := $(B)/lib/libntpmon_pic.a
$(COMMON_LIB): $(patsubst %.c,$(B)/obj/%.o,$(COMMON_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(COMMON_PIC_LIB): $(patsubst %.c,$(B)/pic/%.o,$(COMMON_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
UNIT_TESTS += $(patsubst tests/unit/common/%.c,$(B)/tests/unit/common/%,$(wildcard tests/unit/common/*.c))
$(B)/tests/unit/common/%: tests/unit/common/%.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LIBS)

# $(call part,DIR,PROGRAM): DIR/*.c except main.c form lib<DIR>.a; DIR/main.c + that lib make bin/PROGRAM;
# tests/unit/DIR/test_*.c link with the same lib.
define part
$(1)_SRCS := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_LIB := $$(B)/lib/lib$(subst -,_,$(1)).a
$$($(1)_LIB): $$(patsubst %.c,$$(B)/obj/%.o,$$($(1)_SRCS))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
$$(B)/bin/$(2): $$(B)/obj/$(1)/main.o $$($(1)_LIB) $$(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
PROGRAMS += $$(B)/bin/$(2)
UNIT_TESTS += $$(patsubst tests/unit/$(1)/%.c,$$(B)/tests/unit/$(1)/%,$$(wildcard tests/unit/$(1)/*.c))
$$(B)/tests/unit/$(1)/%: tests/unit/$(1)/%.c $$($(1)_LIB) $$(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -Itests/unit -I$(1) $$(LDFLAGS) -o $$@ $$< $$($(1)_LIB) $$(COMMON_LIB) $$(LIBS)
endef

# ---- test tools: tests/tools/<name>.c -> build/bin/<name> (fake servers, test clients) ----
TEST_TOOLS += $(patsubst tests/tools/%.c,$(B)/bin/%,$(wildcard tests/tools/*.c))
$(B)/bin/%: tests/tools/%.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LIBS)

# ---- benchmark programs: bench/<name>.c -> build/bench/<name>, never beside the shipped binaries in build/bin;
# those that link a part's library get their own rule in that part's module.mk ----
BENCH_PROGRAMS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
$(B)/bench/%: bench/%.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LIBS)

include $(sort $(wildcard */module.mk))

# ---- generic compile rules ----
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c -o $@ $<
# Only the compile rules' dependency files (build/deb/ holds a whole copy of the tree with its own).
-include $(shell find $(B)/obj $(B)/pic -name '*.d' -type f 2>/dev/null)

all: $(COMMON_LIB) $(PROGRAMS) $(TEST_TOOLS) $(BENCH_PROGRAMS) $(EXTRA_TARGETS)
unit-tests: $(UNIT_TESTS)
build-all: all unit-tests

deps:
	@tools/deps.sh

# The sanitizer variant lives in its own tree so both can be built and tested in one run.
ASAN_BUILD := build-asan

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$$(nproc) build-all
	@$(MAKE) --no-print-directory -j$$(nproc) build-all BUILD=$(ASAN_BUILD) SAN=1 OPT=-O1
	@tests/run.sh --build $(B) --asan-build $(ASAN_BUILD)

# The whole suite N times (STRESS_RUNS, default 5) beside STRESS_HOGS (2) CPU-bound loops; not part of `make test`.
test-stress:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$$(nproc) build-all
	@$(MAKE) --no-print-directory -j$$(nproc) build-all BUILD=$(ASAN_BUILD) SAN=1 OPT=-O1
	@tests/stress.sh --build $(B) --asan-build $(ASAN_BUILD) --runs $(or $(STRESS_RUNS),5) --hogs $(or $(STRESS_HOGS),2)

test-unit: build-all
	@tests/run.sh --build $(B) --only unit

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$$(nproc) all
	@tools/demo.sh --build $(B) $(if $(DEMO_SECONDS),--seconds $(DEMO_SECONDS))

fuzz:
	@$(MAKE) --no-print-directory deps
	@tests/fuzz/run.sh $(if $(FUZZ_SECONDS),--seconds $(FUZZ_SECONDS))

bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$$(nproc) all
	@bench/run.sh --build $(B)

clean:
	rm -rf build build-asan build-fuzz

# ---- install: what the Debian packages ship (debian/rules: make install DESTDIR=debian/tmp PREFIX=/usr) ----
# ntpmon-agent and ntpmonctl are commands (bin, section 1); the server daemons are system daemons (sbin, section 8).
# The plugin goes where Debian's mosquitto keeps its own (multiarch lib dir), in a mosquitto/ subdirectory.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null)
LIBDIR ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
PLUGINDIR ?= $(LIBDIR)/mosquitto
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
USER_PROGRAMS := ntpmon-agent ntpmonctl
DAEMON_PROGRAMS := $(filter-out $(USER_PROGRAMS),$(notdir $(PROGRAMS)))
# One unit per daemon, shipped only for daemons this tree builds (ntpmon-web@ waits for web/).
UNITS := $(filter $(patsubst %,conf/systemd/%@.service,$(notdir $(PROGRAMS))),$(wildcard conf/systemd/*.service))
MAN_PAGES := $(patsubst %,$(B)/man/%.1,$(USER_PROGRAMS)) $(patsubst %,$(B)/man/%.8,$(DAEMON_PROGRAMS))
# Man page names (the NAME line); every installed program needs one.
MAN_NAME_ntpmon-agent := NTP pool monitoring agent
MAN_NAME_ntpmonctl := administer an ntpmon deployment
MAN_NAME_ntpmon-ingest := store monitoring results from the broker in the database
MAN_NAME_ntpmon-scorer := score NTP servers from monitoring results
MAN_NAME_ntpmon-selector := choose which monitors watch which NTP server
MAN_NAME_ntpmon-tokend := renew monitor tokens over MQTT
MAN_NAME_ntpmon-web := web gateway for ad-hoc checks, score history and live streams

# Man pages come from each program's --help and --version (help2man), so they cannot drift from the flags.
define man_page
	@mkdir -p $(@D)
	help2man --no-info --version-string=$(VERSION) --section=$(subst .,,$(suffix $@)) --name='$(or $(MAN_NAME_$*),$*)' --output=$@ ./$<
endef
$(B)/man/%.1: $(B)/bin/%
	$(man_page)
$(B)/man/%.8: $(B)/bin/%
	$(man_page)

# The conf.d snippet for Debian's mosquitto: conf/mosquitto.conf without what /etc/mosquitto/mosquitto.conf already
# sets (persistence, its location, the log destination; mosquitto refuses duplicates) and with the installed plugin.
# Written by `install` itself, so it always names this install's PLUGINDIR.
define mosquitto_snippet
	{ echo '# $(SYSCONFDIR)/mosquitto/conf.d/ntpmon.conf.example — the ntpmon broker settings (from conf/mosquitto.conf)'; \
	  echo '# for a mosquitto whose main configuration sets persistence, its location and logging, as Debian'"'"'s does.'; \
	  echo '# Copy it to ntpmon.conf (conf.d/*.conf are read), set plugin_opt_env, the key, the revocation file and the'; \
	  echo '# TLS files, then restart mosquitto.'; \
	  sed -e '1,/^$$/d' -e '/^persistence /d' -e '/^persistence_location /d' -e '/^log_dest /d' \
	      -e 's|^plugin .*|plugin $(PLUGINDIR)/ntpmon_auth.so|' conf/mosquitto.conf; } >$(1)
	grep -q '^plugin $(PLUGINDIR)/ntpmon_auth.so$$' $(1)
endef

# Everything `make install` ships, built with the normal (not the sanitizer) flags.
install-files: $(PROGRAMS) $(AUTH_PLUGIN) $(MAN_PAGES)

install: install-files
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(SYSCONFDIR)/mosquitto/conf.d
	install -m 0755 $(patsubst %,$(B)/bin/%,$(USER_PROGRAMS)) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(patsubst %,$(B)/bin/%,$(DAEMON_PROGRAMS)) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(AUTH_PLUGIN) $(DESTDIR)$(PLUGINDIR)/
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 0644 conf/ntpmon-agent.default $(DESTDIR)$(SYSCONFDIR)/default/ntpmon-agent
	install -m 0644 conf/ntpmon-server.default $(DESTDIR)$(SYSCONFDIR)/default/ntpmon-server
	$(call mosquitto_snippet,$(DESTDIR)$(SYSCONFDIR)/mosquitto/conf.d/ntpmon.conf.example)

# Debian packages (debian/, dpkg-buildpackage) into DEB_DIR; see tools/deb.sh and the README.
DEB_DIR ?= $(B)/deb
deb:
	@tools/deb.sh --out $(DEB_DIR)

.PHONY: all unit-tests build-all deps test test-stress test-unit demo fuzz bench clean install-files install deb
.SECONDARY:
