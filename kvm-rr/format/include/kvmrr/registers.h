#pragma once
// A vCPU's registers as events carry them, and their names, once, for everything that
// prints registers (dump, divergence reports).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kvmrr {

// The general registers in x86 encoding order (Regs::gpr).
inline constexpr std::array<std::string_view, 16> kGprNames = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                                               "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// The user register file a kernel entry logs (guest-abi.h, KVMRR_USER_REGS words): the
// kernel's struct pt_regs, in its order.
inline constexpr std::array<std::string_view, 21> kPtRegsNames = {
    "r15", "r14", "r13", "r12", "rbp",      "rbx", "r11", "r10",    "r9",  "r8", "rax",
    "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs",  "rflags", "rsp", "ss"};

// A vCPU's state at an event: what replay checks (RIP, and a digest of the rest).
struct Regs {
  std::array<uint64_t, 16> gpr{};  // kGprNames order
  uint64_t rip = 0;
  uint64_t rflags = 0;
  uint32_t cpl = 0;
  bool operator==(const Regs&) const = default;
};

// Digest of the registers an event carries, so replay can check more than RIP. Stable: it
// is stored in recordings.
uint64_t register_digest(const Regs& regs);

// The register file QEMU-side events (device reads, kernel-mode interrupts) carry in their
// data, so a divergence report can show which register differs: 16 GPRs, RIP, RFLAGS, CPL
// as little-endian u64s.
inline constexpr size_t kPackedRegsBytes = 19 * 8;
std::vector<uint8_t> pack_regs(const Regs& regs);
std::optional<Regs> unpack_regs(const std::vector<uint8_t>& data);

}  // namespace kvmrr
