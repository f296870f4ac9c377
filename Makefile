# twinboot: the two commands a user needs are `make lab` and `make test`.
# Everything else here is what those two call.
SHELL := /bin/bash
GO    ?= go
BUILD := $(CURDIR)/build
BIN   := $(BUILD)/bin/twinboot
PROBE := $(BUILD)/bin/probe
# The container init as a small binary of its own: `twinboot ct run` starts it
# from beside twinboot (see container/cmd/twinboot-init), several ms faster
# per container than re-executing all of twinboot.
CTINIT := $(BUILD)/bin/twinboot-init
# Each VM runs in a small VMM process of its own (see hypervisor/vmm),
# started from beside twinboot; it goes into the nested-mode machine too.
VMM := $(BUILD)/bin/twinboot-vmm
# The OCI runtime executable: runc's command line, for engines and the OCI
# conformance suite (see container/runtime).
RUNTIME := $(BUILD)/bin/twinboot-runtime

# twinboot and the probe are static: the same binary runs on the host, in the
# guest's initramfs and inside the nested-mode lab machine.
export CGO_ENABLED := 0
export TWINBOOT_BUILD := $(BUILD)

# Debian packages the lab uses (see README, "Requirements"), and those only
# the tests need (tmux drives the lab as a user would). Installed without
# Recommends: imagemagick's alone pulled in a few hundred MB.
DEB_PKGS := linux-source-6.1 busybox-static qemu-system-x86 runc crun cpio \
            build-essential bc bison flex libelf-dev libssl-dev xz-utils jq
TEST_PKGS := tmux iproute2

GO_SOURCES := $(shell find . -name '*.go' -not -path './build/*') go.mod go.sum

.PHONY: all deps test-deps debs bin guest nested lab test vet fmt-check clean bench charts conformance conformance-runc conformance-l1 install uninstall
all: bin

deps:
	@command -v $(GO) >/dev/null || { echo "make deps: Go is missing: install Go 1.26 or newer (https://go.dev/dl) and retry" >&2; exit 1; }
	@$(MAKE) --no-print-directory debs PKGS="$(DEB_PKGS)"
	@$(GO) mod download && echo "make deps: Go modules present"

# The tests' own tools, and the OCI conformance suite's modules.
test-deps: deps
	@$(MAKE) --no-print-directory debs PKGS="$(TEST_PKGS)"
	@cd tools/conformance && $(GO) mod download && echo "make deps: OCI conformance suite modules present"

# debs installs the Debian packages of PKGS that are missing (apt-get update
# first, only then).
debs:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing Debian packages:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "make deps: Debian packages present ($(words $(PKGS)))"; fi

$(BIN): $(GO_SOURCES)
	@mkdir -p $(dir $@)
	$(GO) build -trimpath -o $@ ./cmd/twinboot

$(PROBE): $(GO_SOURCES)
	@mkdir -p $(dir $@)
	$(GO) build -trimpath -o $@ ./guest/probe

$(CTINIT): $(GO_SOURCES)
	@mkdir -p $(dir $@)
	$(GO) build -trimpath -o $@ ./container/cmd/twinboot-init

$(VMM): $(GO_SOURCES)
	@mkdir -p $(dir $@)
	$(GO) build -trimpath -o $@ ./hypervisor/cmd/twinboot-vmm

$(RUNTIME): $(GO_SOURCES)
	@mkdir -p $(dir $@)
	$(GO) build -trimpath -o $@ ./container/cmd/twinboot-runtime

bin: $(BIN) $(CTINIT) $(VMM) $(RUNTIME)

guest: $(BIN) $(CTINIT) $(VMM) $(PROBE)
	$(BIN) guest build --probe $(PROBE)

# Nested mode's L1 machine (Debian's generic kernel via apt-get download, the
# kvm-amd modules, this twinboot with its init and VMM, and the guest),
# cached under build/nested/.
# Hosts without hardware KVM run the VM side, and its tests, inside it.
nested: guest
	$(BIN) nested build

# On a host without hardware KVM the lab runs inside the nested-mode machine:
# prepare it here, with its progress on the terminal, rather than behind the
# TUI's first frame.
# --net: the shells (s) sit on a lab network, the other side serving beside
# them, so that they ping and wget each other by name (m checks every path).
lab: deps guest
	@if $(BIN) doctor --json | jq -e '.mode.mode == "nested"' >/dev/null 2>&1; then $(BIN) nested build; fi
	$(BIN) lab --net

# The figures for a class or a blog post: 20 interleaved VM/container pairs
# with the peers (QEMU, runc, crun) where they can run, then their charts.
# --mode auto runs it all inside the nested-mode lab machine when this host
# has no hardware KVM; the results then say "emulated".
RESULTS := $(BUILD)/results.json
bench: guest
	$(BIN) bench --runs 20 --warmup 2 --peers --format json --out $(RESULTS)
	@echo "make bench: results in $(RESULTS)"

charts:
	@test -f $(RESULTS) || { echo "make charts: $(RESULTS) is missing: run 'make bench' first" >&2; exit 1; }
	$(BIN) chart $(RESULTS) --out $(BUILD)/charts --format svg,png

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd tools/conformance && $(GO) vet ./cmd/...

# The OCI runtime conformance suite (opencontainers/runtime-tools, pinned in
# tools/conformance/go.mod, built under build/conformance/ once per go.sum)
# against build/bin/twinboot-runtime: it fails on a failure not listed in
# tools/conformance/known-failures.txt, and on a listed one that passes.
CONFORMANCE := cd tools/conformance && $(GO) run ./cmd/ocisuite -build $(BUILD)/conformance
conformance: $(RUNTIME) $(CTINIT)
	$(CONFORMANCE) -runtime $(RUNTIME) -known known-failures.txt

# The same suite, twinboot and Debian's runc side by side (for comparison
# only: runc's failures are not checked).
conformance-runc: $(RUNTIME) $(CTINIT)
	$(CONFORMANCE) -runtime $(RUNTIME) -runtime runc

# The same suite inside nested mode's L1 machine (pure cgroup v2), checked
# against its own list, tools/conformance/known-failures-l1.txt. The built
# programs travel into L1 with the static ocisuite, which runs them there
# with L1's busybox tar. About 3 minutes, emulated.
OCISUITE := $(BUILD)/conformance/ocisuite
conformance-l1: $(RUNTIME) $(CTINIT) nested
	cd tools/conformance && $(GO) build -o $(OCISUITE) ./cmd/ocisuite
	suite=$$(cd tools/conformance && $(OCISUITE) -build $(BUILD)/conformance -print-suite) && \
	$(BIN) nested exec --mem 4096 --timeout 30m --file $$suite:/conformance --file $(OCISUITE):/extra/ocisuite \
	  --file $(RUNTIME):/bin/twinboot-runtime --file tools/conformance/known-failures-l1.txt:/extra/known-failures-l1.txt \
	  -- /extra/ocisuite -suite /conformance -runtime /bin/twinboot-runtime -known /extra/known-failures-l1.txt -timeout 5m

# TWINBOOT_REQUIRE=1 turns "missing prerequisite" skips into failures: this
# target has built everything, so a skip would hide a broken set-up.
test: test-deps guest nested fmt-check vet conformance conformance-l1
	TWINBOOT_REQUIRE=1 $(GO) test -count=1 -timeout 80m ./...

# make install: the binaries into PREFIX/bin, the current guest (and the
# nested-mode lab machine, where it was built) into PREFIX/lib/twinboot,
# where an installed twinboot finds them from any directory. make uninstall
# removes exactly that.
PREFIX  ?= /usr/local
BINDIR  := $(DESTDIR)$(PREFIX)/bin
LIBDIR  := $(DESTDIR)$(PREFIX)/lib/twinboot
INSTALLED := twinboot twinboot-init twinboot-vmm twinboot-runtime
install: bin guest
	install -d $(BINDIR) $(LIBDIR)
	install -m 0755 $(BIN) $(CTINIT) $(VMM) $(RUNTIME) $(BINDIR)/
	$(BIN) guest install $(LIBDIR) >/dev/null
	@if [ -d $(BUILD)/nested ]; then rm -rf $(LIBDIR)/nested && cp -a $(BUILD)/nested $(LIBDIR)/nested && rm -rf $(LIBDIR)/nested/run; fi
	@echo "make install: $(INSTALLED) in $(BINDIR); the guest and the lab machine in $(LIBDIR)"

uninstall:
	rm -f $(addprefix $(BINDIR)/,$(INSTALLED))
	rm -rf $(LIBDIR)

clean:
	rm -rf $(BUILD)
