# scorer/module.mk — ntpmon-scorer: the pool's scores (DESIGN.md §6).
$(eval $(call part,scorer,ntpmon-scorer))
