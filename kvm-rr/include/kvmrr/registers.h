#pragma once
// Register names, once, for everything that prints registers (dump, divergence reports).
#include <array>
#include <string_view>

namespace kvmrr {

// KvmrrRegs::gpr[] (qemu-abi.h): the general registers in x86 encoding order.
inline constexpr std::array<std::string_view, 16> kGprNames = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// The user register file a kernel entry logs (guest-abi.h, KVMRR_USER_REGS words): the
// kernel's struct pt_regs, in its order.
inline constexpr std::array<std::string_view, 21> kPtRegsNames = {
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",  "rax",
    "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss"};

}  // namespace kvmrr
