#include "kvmrr/kernel_stack.h"
#include "kvmrr/registers.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <vector>

namespace kvmrr {
namespace {

// x86-64 Linux: task stacks are THREAD_SIZE (16 KiB, no KASAN) and aligned to it; struct
// pt_regs (21 words) sits at the top of a task's stack.
constexpr uint64_t kThreadSize = 16 * 1024;
constexpr size_t kPtRegsWords = kPtRegsNames.size();
constexpr size_t kOrigAx = 15, kIp = 16, kCs = 17, kSp = 19;
constexpr size_t kMaxFrames = 40;
constexpr uint64_t kUserCs = 0x33;
constexpr uint64_t kKernelBase = 0xffff800000000000ull;

// True when the bytes before addr in vmlinux end in a call instruction: addr is a return
// address, not a stale pointer to code (a function pointer, a jump label).
bool after_call(const Vmlinux& vm, uint64_t addr) {
  auto code = vm.read(addr - 7, 7);
  if (!code) return false;
  // b[6] is the byte just before addr.
  const std::vector<uint8_t>& b = *code;
  if (b[2] == 0xe8) return true;                                           // call rel32
  if (b[1] == 0xff && b[2] == 0x15) return true;                           // call *disp32(%rip)
  if (b[0] == 0xff && b[1] == 0x14) return true;                           // call *disp32(,%reg,8)
  if (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) return true;                  // call *%reg
  if (b[4] == 0x41 && b[5] == 0xff && (b[6] & 0xf8) == 0xd0) return true;  // call *%r8..r15
  return false;
}

std::string entry_of(const std::array<uint64_t, kPtRegsWords>& pt, const Vmlinux& vm) {
  uint64_t orig_ax = pt[kOrigAx], cs = pt[kCs];
  if (cs == kUserCs) {
    std::string what = fmt::format("orig_ax={:#x}", orig_ax);
    if (orig_ax < 1024) {
      what = fmt::format("system call {}", orig_ax);
      auto table = vm.symbol("sys_call_table");
      std::optional<std::vector<uint8_t>> slot;
      if (table) slot = vm.read(*table + 8 * orig_ax, 8);
      if (slot) {
        uint64_t fn = 0;
        for (int i = 7; i >= 0; i--) fn = fn << 8 | (*slot)[i];
        if (auto name = vm.symbol_at(fn)) what += fmt::format(" ({})", name->substr(0, name->find('+')));
      }
    } else if (orig_ax >= 0xffffffffffffff00ull) {
      what = fmt::format("interrupt vector {:#x}", ~orig_ax & 0xff);
    }
    return fmt::format("  the task entered from user mode: {}, user rip={:#x} rsp={:#x}\n", what, pt[kIp], pt[kSp]);
  }
  return "";
}

}  // namespace

std::string describe_kernel_stack(const Regs& regs, const Vmlinux& vm, const GuestRead& read) {
  uint64_t rsp = regs.gpr[4];
  if (rsp < kKernelBase || !read) return "";
  uint64_t top = (rsp | (kThreadSize - 1)) + 1;
  std::vector<uint64_t> words((top - rsp) / 8);
  if (words.empty() || !read(rsp, words.data(), words.size() * 8)) return "";
  std::string out = fmt::format(
      "  kernel stack at {} (rsp={:#x} up to {:#x}; return addresses, stale ones of "
      "finished calls among them):\n",
      vm.symbolize(regs.rip), rsp, top);
  // Looked up once: Vmlinux::symbol() walks the whole table.
  auto stext = vm.symbol("_stext"), etext = vm.symbol("_etext");
  size_t frames = 0;
  for (size_t i = 0; stext && etext && i < words.size() && frames < kMaxFrames; i++) {
    uint64_t w = words[i];
    if (w <= *stext || w >= *etext || !after_call(vm, w)) continue;
    out += fmt::format("    ? {} [{:#x}]\n", vm.symbolize(w), rsp + 8 * i);
    frames++;
  }
  if (frames == 0) out += "    (no return addresses found)\n";
  if (words.size() >= kPtRegsWords) {
    std::array<uint64_t, kPtRegsWords> pt{};
    for (size_t i = 0; i < kPtRegsWords; i++) pt[i] = words[words.size() - kPtRegsWords + i];
    out += entry_of(pt, vm);
  }
  return out;
}

}  // namespace kvmrr
