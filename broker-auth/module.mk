# broker-auth/module.mk — the mosquitto plugin (build/broker-auth/ntpmon_auth.so) and its core library for unit
# tests, the fuzzer and ntpmon-tokend (tokend/ reads the revocation file with it). The `part` macro is not used: the
# plugin needs PIC objects and has no main.c.
AUTH_CORE_SRCS := broker-auth/strmap.c broker-auth/topicacl.c broker-auth/verify.c broker-auth/revoked.c
AUTH_PLUGIN := $(B)/broker-auth/ntpmon_auth.so
AUTH_CORE_LIB := $(B)/lib/libbroker_auth.a

# The archive is searched, not linked whole: only the common objects the plugin calls come in; the version
# script exports nothing but the plugin entry points, so no symbol of ours can clash with the broker's.
$(AUTH_PLUGIN): $(patsubst %.c,$(B)/pic/%.o,$(AUTH_CORE_SRCS) broker-auth/plugin.c) $(COMMON_PIC_LIB) broker-auth/plugin.map
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=broker-auth/plugin.map -o $@ $(filter %.o,$^) $(COMMON_PIC_LIB) \
		$(shell pkg-config --libs libjwt json-c openssl)

$(AUTH_CORE_LIB): $(patsubst %.c,$(B)/obj/%.o,$(AUTH_CORE_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

EXTRA_TARGETS += $(AUTH_PLUGIN)

UNIT_TESTS += $(patsubst tests/unit/broker-auth/%.c,$(B)/tests/unit/broker-auth/%,$(wildcard tests/unit/broker-auth/*.c))
$(B)/tests/unit/broker-auth/%: tests/unit/broker-auth/%.c $(AUTH_CORE_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -Ibroker-auth $(LDFLAGS) -o $@ $< $(AUTH_CORE_LIB) $(COMMON_LIB) $(LIBS)

# The plugin's real callbacks in a unit test: plugin.c linked with a fake of the broker functions it calls.
AUTH_PLUGIN_TEST_OBJS := $(B)/obj/broker-auth/plugin.o $(B)/obj/tests/fakes/broker.o
$(B)/tests/unit/broker-auth/test_plugin: tests/unit/broker-auth/test_plugin.c $(AUTH_PLUGIN_TEST_OBJS) $(AUTH_CORE_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -Ibroker-auth -Itests/fakes $(LDFLAGS) -o $@ $< $(AUTH_PLUGIN_TEST_OBJS) \
		$(AUTH_CORE_LIB) $(COMMON_LIB) $(LIBS)
