# kvm-rr top-level orchestration. Two commands do all set-up on a fresh machine:
#   make demo   install what is missing, build everything, run a workload in the guest
#   make test   the same set-up, then every test
# Big builds (QEMU, guest kernel, guest image) are cached outside the repository in
# $(KVMRR_CACHE), keyed by what went into them; build/ holds links to them.

KVMRR_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kvm-rr
export KVMRR_CACHE
BUILD := build
CMAKE_BUILD := $(BUILD)/cmake
QEMU_TREE ?= $(KVMRR_CACHE)/work/qemu
KERNEL_TREE ?= $(KVMRR_CACHE)/work/linux
# The deliberate kernel bug of make kernel-mutant (test only: the pmem checker's mutation test).
MUTATION ?= tests/pmem/mutations/drop-unaligned-tail-flush.patch

.PHONY: bench all deps build qemu kernel kernel-mutant image demo test unit-test e2e-test clean \
        qemu-tree qemu-export kernel-tree kernel-export help soak qemu-series-check kernel-series-check format

all: build qemu kernel image

help:
	@echo "make demo        set up everything, boot the guest, run a workload, print its output"
	@echo "make test        set up everything, run unit and end-to-end tests"
	@echo "make deps        install the Debian packages kvm-rr needs (root)"
	@echo "make build       C++ core, front end and passes -> build/bin/kvm-rr, build/lib (needs make qemu: the pmem plugin compiles against its plugin header)"
	@echo "make qemu        patched QEMU 7.2 -> build/qemu"
	@echo "make kernel      patched Linux 6.1 guest kernel -> build/kernel"
	@echo "make kernel-mutant  TEST ONLY: build/kernel + MUTATION=$(MUTATION)"
	@echo "                 (a deliberate bug for the pmem checker), built incrementally -> build/kernel-mutant"
	@echo "make image       guest root file system -> build/guest"
	@echo "make soak       N recordings per --smp of the multi-core workload, replayed (N=100 SMP=\"2 4\" JOBS=2)"
	@echo "make qemu-tree   QEMU source with qemu-patches/ as commits in QEMU_TREE=$(QEMU_TREE)"
	@echo "make qemu-export QEMU_TREE's commits back into qemu-patches/"
	@echo "make kernel-tree / kernel-export   the same for guest-kernel-patches/ (KERNEL_TREE)"
	@echo "make qemu-series-check / kernel-series-check   every patch of the series builds on the ones before it"
	@echo "make format      clang-format the C++ sources (.clang-format: Google style, 120 columns);"
	@echo "                 make test and make unit-test fail (style.clang_format) on unformatted code"

deps:
	@tools/deps.sh

build: deps qemu
	@cmake -S . -B $(CMAKE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(CMAKE_BUILD) --quiet
	@echo "build: $(BUILD)/bin/kvm-rr"

qemu: deps
	@tools/build-qemu.sh build $(BUILD)/qemu

kernel: deps
	@tools/build-kernel.sh build $(BUILD)/kernel

# Test only. Boot it with KVMRR_KERNEL=build/kernel-mutant/bzImage
# KVMRR_VMLINUX=build/kernel-mutant/vmlinux build/bin/kvm-rr ...
kernel-mutant: deps
	@tools/build-kernel-mutant.sh $(MUTATION) $(BUILD)/kernel-mutant $(BUILD)/kernel

image: deps
	@tools/build-image.sh $(BUILD)/guest

qemu-tree:
	@tools/build-qemu.sh tree $(QEMU_TREE)
qemu-export:
	@tools/build-qemu.sh export $(QEMU_TREE)
kernel-tree: deps
	@tools/build-kernel.sh tree $(KERNEL_TREE)
kernel-export:
	@tools/build-kernel.sh export $(KERNEL_TREE)

# Each patch applied in turn and built incrementally in the cached build tree, warnings in
# touched files failing it: a series whose every step builds can be bisected and reviewed.
qemu-series-check: deps
	@tools/build-qemu.sh check
kernel-series-check: deps
	@tools/build-kernel.sh check

demo: all
	@tools/demo.sh

# Unit tests (GoogleTest) and end-to-end tests (label e2e) all run under CTest, whose
# closing line counts every test.
unit-test: build
	@ctest --test-dir $(CMAKE_BUILD) --output-on-failure -LE 'e2e|hardening' -j 2

e2e-test: all kernel-mutant
	@ctest --test-dir $(CMAKE_BUILD) --output-on-failure -L e2e

# Reformats the C++ sources by .clang-format (not kvm-rr/abi/ or guest/: C shared with QEMU,
# the kernel and the guest); the CTest test style.clang_format checks the same files.
format:
	@tools/format-check.sh --fix

# make run/WORKLOAD [schemes=baseline,kernel_rr,whole_system_rr] [repeat=N]: the recorders
# side by side on one workload (microbench, fio, rocksdb); see bench/schemes.sh.
ALL_SCHEMES := baseline,kernel_rr,whole_system_rr
run/%: all
	@SCHEMES=$(or $(schemes),$(ALL_SCHEMES)) bench/schemes.sh $* $(or $(repeat),3)

# Regenerates bench/results/schemes.md and .svg (every workload, scheme and accelerator in
# one run); see bench/all.sh.
bench: all
	@bench/all.sh $(or $(repeat),1)

# make soak [N=100] [SMP="2 4"] [JOBS=2]: multi-core determinism under load, beside make test
# (not in it): N recordings per --smp, JOBS side by side, each replayed; failures kept in the
# cache; table in bench/results/soak.md (bench/soak.sh).
soak: all
	@JOBS=$(or $(JOBS),2) bench/soak.sh $(or $(N),100) $(or $(SMP),2 4)

test: all kernel-mutant
	@ctest --test-dir $(CMAKE_BUILD) --output-on-failure -j 2

clean:
	rm -rf $(BUILD)
