# tokend/module.mk — ntpmon-tokend, the token service (DESIGN.md §4): it signs monitor tokens (common/token) and
# reads the broker's revocation file with broker-auth's core library (revoked.c).
TOKEND_SRCS := $(wildcard tokend/*.c)
$(B)/obj/tokend/%.o: CFLAGS += -Ibroker-auth
$(B)/bin/ntpmon-tokend: $(patsubst %.c,$(B)/obj/%.o,$(TOKEND_SRCS)) $(AUTH_CORE_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
PROGRAMS += $(B)/bin/ntpmon-tokend
