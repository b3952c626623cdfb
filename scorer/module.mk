# scorer/module.mk — ntpmon-scorer: the pool's scores (DESIGN.md §6).
$(eval $(call part,scorer,ntpmon-scorer))
# Its benchmark programs (bench/scorer-*.c) link common only: the Makefile's bench rule builds them.
