#pragma once
// The x86_64 system calls of kvm-rr's guest kernel (Linux 6.1): numbers, names, argument
// types and names, as tools/gen-syscall-table.py read them from the kernel's sources; and
// the errno names. Plain facts for decoding a recording's system calls.
#include <array>
#include <cstdint>
#include <string_view>

namespace kvmrr {

struct SyscallArg {
  std::string_view type;  // as declared: "const char __user *", "unsigned int", ...
  std::string_view name;  // "filename", "fd", ...
};

struct SyscallInfo {
  uint32_t nr = 0;
  std::string_view name;
  int nargs = -1;  // -1: the table has no argument list for it
  std::array<SyscallArg, 6> args{};
};

// nullptr for a number the table lacks.
const SyscallInfo* syscall_info(uint64_t nr);
const SyscallInfo* syscall_by_name(std::string_view name);
// "ENOENT" for 2; empty for a number with no name.
std::string_view errno_name(uint64_t err);
// Names of the CPU exceptions (0-31) and of the kernel's own interrupt vectors; empty if none.
std::string_view exception_name(uint64_t vector);
std::string_view interrupt_vector_name(uint64_t vector);

}  // namespace kvmrr
