# agent/module.mk — ntpmon-agent: the monitoring daemon (check, setup, monitor).
$(eval $(call part,agent,ntpmon-agent))
# bench/agent-spool.c measures the spool's cost (bench/agent-spool.sh runs it).
$(B)/bench/agent-spool: bench/agent-spool.c $(agent_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iagent $(LDFLAGS) -o $@ $< $(agent_LIB) $(COMMON_LIB) $(LIBS)
# bench/trace-precision.c: probe timing with and without traces on the same loop (bench/trace-lab.sh runs it).
$(B)/bench/trace-precision: bench/trace-precision.c $(agent_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iagent $(LDFLAGS) -o $@ $< $(agent_LIB) $(COMMON_LIB) $(LIBS)
