# ingest/module.mk — ntpmon-ingest (results from MQTT into the database).
$(eval $(call part,ingest,ntpmon-ingest))

# bench/ingest-dbload: the database ceiling of bench/ingest-throughput.sh (ingest's own store code, no MQTT).
$(B)/bench/ingest-dbload: bench/ingest-dbload.c $(ingest_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iingest $(LDFLAGS) -o $@ $< $(ingest_LIB) $(COMMON_LIB) $(LIBS)
