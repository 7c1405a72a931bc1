#include "kvm_host.h"

#include <fcntl.h>
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

}  // namespace kvmrr
