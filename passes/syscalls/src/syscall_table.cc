#include "kvmrr/syscall_table.h"

#include <map>
#include <vector>

namespace kvmrr {
namespace {

#include "x86_64_syscalls.inc"

const std::vector<SyscallInfo>& table() {
  static const std::vector<SyscallInfo> t = [] {
    std::vector<SyscallInfo> v;
#define X(nr, name, nargs, ...) v.push_back(SyscallInfo{nr, name, nargs, std::array<SyscallArg, 6>{__VA_ARGS__}});
    KVMRR_SYSCALLS
#undef X
    return v;
  }();
  return t;
}

}  // namespace

const SyscallInfo* syscall_info(uint64_t nr) {
  static const std::map<uint64_t, const SyscallInfo*> by_nr = [] {
    std::map<uint64_t, const SyscallInfo*> m;
    for (const SyscallInfo& s : table()) m[s.nr] = &s;
    return m;
  }();
  auto it = by_nr.find(nr);
  return it == by_nr.end() ? nullptr : it->second;
}

const SyscallInfo* syscall_by_name(std::string_view name) {
  for (const SyscallInfo& s : table()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string_view errno_name(uint64_t err) {
  static const std::map<uint64_t, std::string_view> names = {
#define E(n, name) {n, name},
      KVMRR_ERRNOS
#undef E
  };
  auto it = names.find(err);
  return it == names.end() ? std::string_view() : it->second;
}

// arch/x86/include/asm/trapnr.h
std::string_view exception_name(uint64_t vector) {
  static const std::map<uint64_t, std::string_view> names = {{0, "divide_error"},
                                                             {1, "debug"},
                                                             {2, "nmi"},
                                                             {3, "int3"},
                                                             {4, "overflow"},
                                                             {5, "bounds"},
                                                             {6, "invalid_op"},
                                                             {7, "device_not_available"},
                                                             {8, "double_fault"},
                                                             {10, "invalid_tss"},
                                                             {11, "segment_not_present"},
                                                             {12, "stack_segment"},
                                                             {13, "general_protection"},
                                                             {14, "page_fault"},
                                                             {16, "coprocessor_error"},
                                                             {17, "alignment_check"},
                                                             {18, "machine_check"},
                                                             {19, "simd_coprocessor_error"},
                                                             {20, "virtualization"},
                                                             {21, "control_protection"},
                                                             {29, "vmm_communication"}};
  auto it = names.find(vector);
  return it == names.end() ? std::string_view() : it->second;
}

// arch/x86/include/asm/irq_vectors.h; device interrupts have no fixed vector.
std::string_view interrupt_vector_name(uint64_t vector) {
  static const std::map<uint64_t, std::string_view> names = {{0xec, "local_timer"},
                                                             {0xed, "hyperv_stimer0"},
                                                             {0xee, "hyperv_reenlightenment"},
                                                             {0xef, "managed_irq_shutdown"},
                                                             {0xf0, "posted_intr_nested"},
                                                             {0xf1, "posted_intr_wakeup"},
                                                             {0xf2, "posted_intr"},
                                                             {0xf3, "hypervisor_callback"},
                                                             {0xf4, "deferred_error"},
                                                             {0xf6, "irq_work"},
                                                             {0xf7, "x86_platform_ipi"},
                                                             {0xf8, "reboot"},
                                                             {0xf9, "threshold_apic"},
                                                             {0xfa, "thermal_apic"},
                                                             {0xfb, "call_function_single"},
                                                             {0xfc, "call_function"},
                                                             {0xfd, "reschedule"},
                                                             {0xfe, "error_apic"},
                                                             {0xff, "spurious_apic"}};
  auto it = names.find(vector);
  return it == names.end() ? std::string_view() : it->second;
}

}  // namespace kvmrr
