# agent/module.mk — ntpmon-agent: the monitoring daemon (check, setup, monitor).
$(eval $(call part,agent,ntpmon-agent))
# bench/agent-spool.c measures the spool's cost (bench/agent-spool.sh runs it).
$(B)/bench/agent-spool: bench/agent-spool.c $(agent_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iagent $(LDFLAGS) -o $@ $< $(agent_LIB) $(COMMON_LIB) $(LIBS)
