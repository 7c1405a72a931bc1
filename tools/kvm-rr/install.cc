#include "install.h"

#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace kvmrr {

namespace fs = std::filesystem;

static fs::path from_env(const char* var, const fs::path& fallback) {
  const char* v = std::getenv(var);
  return v && *v ? fs::path(v) : fallback;
}

Install Install::locate() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path root = exe.parent_path().parent_path();
  Install i;
  i.qemu = from_env("KVMRR_QEMU", root / "qemu/bin/qemu-system-x86_64");
  i.firmware = from_env("KVMRR_FIRMWARE", root / "qemu/share");
  i.bzimage = from_env("KVMRR_KERNEL", root / "kernel/bzImage");
  i.vmlinux = from_env("KVMRR_VMLINUX", root / "kernel/vmlinux");
  i.rootfs = from_env("KVMRR_ROOTFS", root / "guest/rootfs.ext4");
  i.core_lib = from_env("KVMRR_LIB", root / "lib/libkvmrr-qemu.so");
  i.pmem_plugin = from_env("KVMRR_PMEM_PLUGIN", root / "lib/libkvmrr-pmem.so");
  i.branches_plugin = from_env("KVMRR_BRANCHES_PLUGIN", root / "lib/libkvmrr-branches.so");
  return i;
}

std::string Install::missing() const {
  std::string out;
  auto need = [&](const fs::path& p, const char* what, const char* target) {
    std::error_code ec;
    if (!fs::exists(p, ec)) out += fmt::format("  {} ({}) is missing: run `make {}`\n", what, p.string(), target);
  };
  need(qemu, "patched QEMU", "qemu");
  need(firmware, "QEMU firmware", "qemu");
  need(bzimage, "guest kernel", "kernel");
  need(vmlinux, "guest vmlinux", "kernel");
  need(rootfs, "guest root file system", "image");
  need(core_lib, "kvm-rr core library", "build");
  return out;
}

}  // namespace kvmrr
