# config.mk — compiler, warnings, sanitizers and library flags shared by every part.
# `make SAN=1 BUILD=build-asan` builds the AddressSanitizer+UBSan variant beside the normal one.

BUILD ?= build
B := $(BUILD)
SAN ?= 0
CC ?= cc
AR ?= ar

PKGS := libmosquitto json-c libmariadb libjwt openssl yaml-0.1
# libmicrohttpd is only compiled against: common/metrics.c dlopens it when metrics are served.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libmicrohttpd 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla
OPT ?= -O2
CFLAGS := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARNINGS) -Icommon $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(EXTRA_LDFLAGS)
LIBS := $(PKG_LIBS) -lm -lpthread

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

VERSION := 0.1.0
CFLAGS += -DNTPMON_VERSION='"$(VERSION)"'
