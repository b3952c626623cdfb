# scorer/module.mk — ntpmon-scorer: the pool's scores (DESIGN.md §6).
$(eval $(call part,scorer,ntpmon-scorer))
# Benchmark programs (bench/scorer-*.c), linked with common like the test tools.
SCORER_BENCH := $(B)/bin/scorer-sink $(B)/bin/scorer-parse
$(B)/bin/scorer-%: bench/scorer-%.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON_LIB) $(LIBS)
EXTRA_TARGETS += $(SCORER_BENCH)
