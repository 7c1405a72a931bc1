#pragma once
// Where the pieces kvm-rr runs live. `make` lays them out under build/: bin/kvm-rr (this
// program), lib/libkvmrr-qemu.so, and links into the build cache: qemu/ (bin, share with
// firmware), kernel/ (bzImage, vmlinux), guest/ (rootfs.ext4). Each can be overridden by an
// environment variable, for a user who keeps them elsewhere.
#include <filesystem>
#include <string>

namespace kvmrr {

struct Install {
  std::filesystem::path qemu;             // KVMRR_QEMU
  std::filesystem::path firmware;         // KVMRR_FIRMWARE (directory for qemu -L)
  std::filesystem::path bzimage;          // KVMRR_KERNEL
  std::filesystem::path vmlinux;          // KVMRR_VMLINUX
  std::filesystem::path rootfs;           // KVMRR_ROOTFS
  std::filesystem::path core_lib;         // KVMRR_LIB
  std::filesystem::path pmem_plugin;      // KVMRR_PMEM_PLUGIN (the pmem pass, a TCG plugin)
  std::filesystem::path branches_plugin;  // KVMRR_BRANCHES_PLUGIN (the branch pass)

  // Layout relative to the running executable (build/bin/kvm-rr -> build/).
  static Install locate();
  // Empty when everything a guest run needs exists, else one line per missing piece with how
  // to get it. Passes check their own plugin (pmem_pass.cc).
  std::string missing() const;
};

}  // namespace kvmrr
