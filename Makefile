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
-include $(shell find $(B) -name '*.d' 2>/dev/null)

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

.PHONY: all unit-tests build-all deps test test-stress test-unit demo fuzz bench clean
.SECONDARY:
