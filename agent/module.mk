# agent/module.mk — ntpmon-agent: the monitoring daemon (check, setup, monitor).
$(eval $(call part,agent,ntpmon-agent))
