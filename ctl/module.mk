# ctl/module.mk — ntpmonctl; its schema migrations are generated from conf/schema/*.sql.
$(eval $(call part,ctl,ntpmonctl))
CTL_SCHEMA := $(sort $(wildcard conf/schema/*.sql))
$(B)/gen/migrations.c: $(CTL_SCHEMA) tools/embed-sql.sh
	@mkdir -p $(@D)
	tools/embed-sql.sh $@ $(CTL_SCHEMA)
$(B)/obj/gen/migrations.o: $(B)/gen/migrations.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ictl -c -o $@ $<
$(ctl_LIB): $(B)/obj/gen/migrations.o
