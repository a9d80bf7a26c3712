# sockshift — one non-recursive Makefile.
#
#   make              build build/lib/libsockshift.so and build/bin/sockshift
#   make test         install missing Debian packages, build, run every test
#   make demo         install missing Debian packages, build, run the demo
#   make bench        native vs shim benchmarks (results in build/bench/)
#   make install      PREFIX, LIBDIR, BINDIR, MANDIR, SYSCONFDIR, DESTDIR honoured
#   SANITIZER=address|undefined   build everything with that sanitizer
#   V=1               show the full commands
#
# Layout contract: core/*.c and core/proto/*.proto form build/lib/libsockshift-core.a
# (position-independent, linked by the shim, the tool and the tests); shim/*.c form the
# preload library; tools/*.c the command; tests/test_*.c one Criterion binary each;
# tests/helpers/*.c small programs the integration tests run under the shim.

VERSION      := 0.1.0
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/sockshift
SYSCONFDIR   ?= $(PREFIX)/etc
DESTDIR      ?=
PKG_CONFIG   ?= pkg-config
CC           ?= cc
CLANG        ?= clang
PROTOC_C     ?= protoc-c

B ?= build
ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every Debian package the build, the tests and the demo need; tools/install-deps
# installs whichever are missing.
DEB_PKGS := build-essential pkg-config libprotobuf-c-dev protobuf-c-compiler \
	libnl-route-3-dev libcapstone-dev libcriterion-dev libnftables-dev \
	criu python3 python3-protobuf curl socat iproute2 clang \
	libvdestack-dev vdeplug liblwipv6-dev libvpoll-dev \
	qemu-system-x86 busybox-static \
	redis-server redis-tools valgrind
# (the vsock VM test also fetches Debian's kernel .deb with apt-get download; tests/vm/)

PKGS     := libprotobuf-c libnl-route-3.0 libnftables capstone
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)

CFLAGS   ?= -O2 -g
WARN     := -Wno-missing-attributes -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Icore -I$(B)/gen -DSOCKSHIFT_VERSION='"$(VERSION)"' \
	-DSOCKSHIFT_LIBDIR='"$(LIBDIR)"' -DSOCKSHIFT_SYSCONFDIR='"$(SYSCONFDIR)"'
BASE_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden $(WARN) -MMD -MP $(PKG_CFLAGS)
LDLIBS_ALL  := $(PKG_LIBS) -ldl -lpthread

ifneq ($(SANITIZER),)
SAN_FLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
BASE_CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif
# An ASan-built shim only loads after the ASan runtime: `sockshift run` preloads it first.
ifeq ($(SANITIZER),address)
CPPFLAGS += -DSOCKSHIFT_PRELOAD_FIRST='"$(shell $(CC) -print-file-name=libasan.so)"'
endif

CORE_SRC  := $(sort $(wildcard core/*.c))
PROTO_SRC := $(sort $(wildcard core/proto/*.proto))
PROTO_C   := $(patsubst core/proto/%.proto,$(B)/gen/%.pb-c.c,$(PROTO_SRC))
PROTO_H   := $(PROTO_C:.c=.h)
CORE_OBJ  := $(patsubst %.c,$(B)/%.o,$(CORE_SRC)) $(patsubst $(B)/gen/%.c,$(B)/gen/%.o,$(PROTO_C))
SHIM_SRC  := $(sort $(wildcard shim/*.c))
SHIM_OBJ  := $(patsubst %.c,$(B)/%.o,$(SHIM_SRC))
TOOL_SRC  := $(sort $(wildcard tools/*.c))
TOOL_OBJ  := $(patsubst %.c,$(B)/%.o,$(TOOL_SRC))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_BIN  := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC))
HELP_SRC  := $(sort $(wildcard tests/helpers/*.c))
HELP_BIN  := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELP_SRC))
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))
PLUGIN_SRC := $(sort $(wildcard core/plugins/ioth_*.c))
# Plug-ins listed in PLUGIN_PRIVATE are built as ioth_NAME.so (a private link-map namespace
# per stack, outside the shim's interposition), the others as ioth_NAME-r.so.
PLUGIN_PRIVATE := lwipv6
PLUGIN_LIB := $(foreach n,$(patsubst core/plugins/ioth_%.c,%,$(PLUGIN_SRC)),\
	$(B)/lib/ioth/ioth_$(n)$(if $(filter $(n),$(PLUGIN_PRIVATE)),,-r).so)
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))

CORE_LIB := $(B)/lib/libsockshift-core.a
SHIM_LIB := $(B)/lib/libsockshift.so
TOOL_BIN := $(B)/bin/sockshift

.PHONY: all deps test check demo bench fuzz install uninstall clean tests-build
all: $(SHIM_LIB) $(TOOL_BIN) $(PLUGIN_LIB)

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: core/proto/%.proto
	@mkdir -p $(@D)
	$(Q)$(PROTOC_C) --proto_path=core/proto --c_out=$(B)/gen $<

$(B)/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -Wno-missing-prototypes $(CFLAGS) -c -o $@ $<

# Generated protobuf headers must exist before any core file includes them.
$(patsubst %.c,$(B)/%.o,$(CORE_SRC) $(SHIM_SRC) $(TOOL_SRC)): | $(PROTO_H)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# The shim exports only the interposed libc names (anonymous version script).
$(SHIM_LIB): $(SHIM_OBJ) $(CORE_LIB) shim/shim.map
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,--version-script=shim/shim.map -Wl,-z,now -Wl,-z,nodelete \
		-o $@ $(SHIM_OBJ) $(CORE_LIB) $(LDLIBS_ALL)

# The plain libvdestack build of netbench (bench/stack.sh's baseline).
$(B)/bench/stack_vdenative: LDLIBS_ALL += -lvdestack

# libioth plug-ins: core/plugins/ioth_NAME.c -> $(B)/lib/ioth/ioth_NAME-r.so, next to the shim,
# where the plug-in loader looks (core/stack_plugin.c); PLUGIN_LIBS_NAME are its libraries.
PLUGIN_LIBS_vdestack := -lvdestack
PLUGIN_LIBS_lwipv6 := -llwipv6 -lvpoll -lpthread
PLUGIN_CMD = $(CC) -shared $(CPPFLAGS) $(BASE_CFLAGS) -Wno-missing-prototypes $(CFLAGS) $(LDFLAGS) -o $@ $< $(PLUGIN_LIBS_$*)
$(B)/lib/ioth/ioth_%-r.so: core/plugins/ioth_%.c core/plugins/ioth_abi.h
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(PLUGIN_CMD)
$(B)/lib/ioth/ioth_%.so: core/plugins/ioth_%.c core/plugins/ioth_abi.h
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(PLUGIN_CMD)
# The vpoll mapping layer's tests make real vpoll fds.
$(B)/tests/test_stack_vpoll: LDLIBS_ALL += -lvpoll

$(TOOL_BIN): $(TOOL_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(CORE_LIB) $(LDLIBS_ALL)

$(B)/tests/test_%: tests/test_%.c $(CORE_LIB) tests/test_util.h
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	$(Q)$(CC) $(CPPFLAGS) -Itests $(BASE_CFLAGS) -Wno-missing-prototypes $(CRIT_CFLAGS) $(CFLAGS) \
		$(LDFLAGS) -o $@ $< $(CORE_LIB) $(CRIT_LIBS) $(LDLIBS_ALL)

# Helpers are ordinary programs; *_fortify.c ones are built the way Debian builds packages.
$(B)/tests/helpers/%_fortify: tests/helpers/%_fortify.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -D_FORTIFY_SOURCE=2 -Wall $(SAN_FLAGS) -o $@ $< -lpthread
# The CRIU client helper links Debian's libcriu (pkg-config criu), nothing of ours.
$(B)/tests/helpers/rpc_libcriu: tests/helpers/rpc_libcriu.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -Wall $(SAN_FLAGS) $(shell $(PKG_CONFIG) --cflags criu 2>/dev/null) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs criu 2>/dev/null)
$(B)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -Wall -D_GNU_SOURCE -Icore $(SAN_FLAGS) -o $@ $< -lpthread

$(B)/bench/%: bench/%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -Wno-missing-prototypes -O2 $(LDFLAGS) -o $@ $< $(CORE_LIB) $(LDLIBS_ALL)

# libFuzzer targets link the core built again with clang's fuzzer instrumentation.
$(B)/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(PROTO_C)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) \
		-o $@ $< $(CORE_SRC) $(PROTO_C) $(LDLIBS_ALL)

tests-build: all $(TEST_BIN) $(HELP_BIN) $(FUZZ_BIN)

deps:
	$(Q)sh tools/install-deps $(DEB_PKGS)

test: deps
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)sh tests/run.sh

check: tests-build
	$(Q)sh tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)sh bench/run.sh

fuzz: $(FUZZ_BIN)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	install -m 0755 $(TOOL_BIN) $(DESTDIR)$(BINDIR)/sockshift
	install -m 0755 $(SHIM_LIB) $(DESTDIR)$(LIBDIR)/libsockshift.so
	install -d $(DESTDIR)$(LIBDIR)/ioth
	$(if $(PLUGIN_LIB),install -m 0755 $(PLUGIN_LIB) $(DESTDIR)$(LIBDIR)/ioth/)
	install -m 0644 tools/sockshift.1 $(DESTDIR)$(MANDIR)/man1/sockshift.1
	install -m 0644 conf/sockshift.conf README.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sockshift $(DESTDIR)$(LIBDIR)/libsockshift.so \
		$(DESTDIR)$(MANDIR)/man1/sockshift.1 $(DESTDIR)$(DOCDIR)/sockshift.conf $(DESTDIR)$(DOCDIR)/README.md

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
