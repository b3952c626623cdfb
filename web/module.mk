# web/module.mk — ntpmon-web (the HTTP gateway: checks, score history, live streams, the page). The page's files
# (web/page/*) are embedded by tools/embed-files.sh; libmicrohttpd is linked directly (this daemon is an HTTP server).
$(eval $(call part,web,ntpmon-web))
WEB_PAGE := $(sort $(wildcard web/page/*))
$(B)/gen/web_assets.c: $(WEB_PAGE) tools/embed-files.sh
	@mkdir -p $(@D)
	tools/embed-files.sh $@ $(WEB_PAGE)
$(B)/obj/gen/web_assets.o: $(B)/gen/web_assets.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iweb -c -o $@ $<
$(web_LIB): $(B)/obj/gen/web_assets.o
WEB_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
$(B)/bin/ntpmon-web: LIBS += $(WEB_LIBS)
$(patsubst tests/unit/web/%.c,$(B)/tests/unit/web/%,$(wildcard tests/unit/web/*.c)): LIBS += $(WEB_LIBS)

# bench/web-sse-fanout (the client side of bench/web-sse.sh) links common only: the Makefile's bench rule builds it
# into build/bench/.
