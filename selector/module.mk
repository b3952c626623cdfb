# selector/module.mk — ntpmon-selector: which monitors watch which server (DESIGN.md §7).
$(eval $(call part,selector,ntpmon-selector))
# The benchmark program (bench/selector.sh runs it): links the selector's library like its unit tests do.
SELECTOR_BENCH := $(B)/bench/selector-bench
$(SELECTOR_BENCH): bench/selector-bench.c $(selector_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselector $(LDFLAGS) -o $@ $< $(selector_LIB) $(COMMON_LIB) $(LIBS)
