# selector/module.mk — ntpmon-selector: which monitors watch which server (DESIGN.md §7).
$(eval $(call part,selector,ntpmon-selector))
