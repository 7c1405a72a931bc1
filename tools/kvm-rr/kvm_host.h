#pragma once
// Whether this host's /dev/kvm can record: present, usable, and hardware-backed. Told
// before a KVM run starts, with what to do instead.
#include <filesystem>
#include <string>

namespace kvmrr {

struct KvmDiagnosis {
  enum class Kind { Usable, Missing, NoPermission, Software };
  Kind kind = Kind::Usable;
  std::string explanation;  // empty when usable; else what is wrong and the alternatives
};

// dev: the KVM device; modules: where loaded kernel modules show (/sys/module).
KvmDiagnosis diagnose_kvm(const std::filesystem::path& dev = "/dev/kvm",
                          const std::filesystem::path& modules = "/sys/module");

}  // namespace kvmrr
