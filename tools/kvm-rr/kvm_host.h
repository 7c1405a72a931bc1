#pragma once
// Whether this host's /dev/kvm can record: present, usable, and hardware-backed. Told
// before a KVM run starts, with what to do instead.
#include <cstdint>
#include <filesystem>
#include <optional>
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

// The TSC frequency KVM gives a new vCPU on this host (KVM_GET_TSC_KHZ), in kHz; nullopt
// when KVM cannot say. A guest that cannot calibrate its TSC (no PIT it can trust, no HPET:
// the nested lab) is told this frequency instead of falling back to a jiffies clock.
std::optional<uint32_t> kvm_tsc_khz(const std::filesystem::path& dev = "/dev/kvm");

}  // namespace kvmrr
