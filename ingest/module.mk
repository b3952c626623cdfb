# ingest/module.mk — ntpmon-ingest (results from MQTT into the database).
$(eval $(call part,ingest,ntpmon-ingest))
