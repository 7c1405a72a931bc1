#include "kvm_host.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kvmrr {

namespace {
constexpr const char* kAlternatives =
    "Record with --accel tcg (same recording, slower), or on real KVM inside the nested lab: "
    "tools/kvm-lab record -o DIR -- CMD (the recording comes back here for kvm-rr replay).";
}

KvmDiagnosis diagnose_kvm(const std::filesystem::path& dev, const std::filesystem::path& modules) {
  std::error_code ec;
  if (!std::filesystem::exists(dev, ec)) {
    return {KvmDiagnosis::Kind::Missing,
            fmt::format("{} does not exist: this host offers no KVM (no kvm_intel/kvm_amd module, or "
                        "no hardware virtualization). {}",
                        dev.string(), kAlternatives)};
  }
  int fd = open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return {e == EACCES || e == EPERM ? KvmDiagnosis::Kind::NoPermission : KvmDiagnosis::Kind::Missing,
            fmt::format("cannot open {}: {}{}. {}", dev.string(), strerror(e),
                        e == EACCES || e == EPERM ? " (add yourself to its group, usually kvm, or run as root)" : "",
                        kAlternatives)};
  }
  close(fd);
  // PVM ("pagetable-based virtual machine") runs guests without hardware virtualization: it
  // serves /dev/kvm from its kvm_pvm module.
  if (std::filesystem::exists(modules / "kvm_pvm", ec)) {
    return {KvmDiagnosis::Kind::Software,
            fmt::format("{} is served by PVM (module kvm_pvm), a software KVM: guest kernel code runs "
                        "about 1000 times slower than under hardware virtualization (a Linux boot takes "
                        "tens of minutes), and its machine snapshots do not load under TCG for replay. {}",
                        dev.string(), kAlternatives)};
  }
  return {};
}

std::optional<uint32_t> kvm_tsc_khz(const std::filesystem::path& dev) {
  int kvm = open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (kvm < 0) return std::nullopt;
  std::optional<uint32_t> khz;
  if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ) > 0) {
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm >= 0) {
      int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
      if (vcpu >= 0) {
        int r = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
        if (r > 0) khz = static_cast<uint32_t>(r);
        close(vcpu);
      }
      close(vm);
    }
  }
  close(kvm);
  return khz;
}

}  // namespace kvmrr
