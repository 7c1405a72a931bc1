#include "kvmrr/kernel_stack.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace kvmrr {
namespace {

// A task stack (16 KiB, aligned) whose top holds the pt_regs of a system call from user mode.
struct FakeStack {
  static constexpr uint64_t kBase = 0xffff888000104000ull;
  std::vector<uint64_t> words = std::vector<uint64_t>(2048, 0);
  FakeStack(uint64_t orig_ax, uint64_t cs) {
    uint64_t* pt = &words[words.size() - 21];
    pt[15] = orig_ax;
    pt[16] = 0x401234;  // ip
    pt[17] = cs;
    pt[19] = 0x7ffd0000;  // sp
  }
  GuestRead reader() {
    return [this](uint64_t vaddr, void* buf, size_t len) {
      if (vaddr < kBase || vaddr + len > kBase + words.size() * 8) return false;
      std::memcpy(buf, reinterpret_cast<const uint8_t*>(words.data()) + (vaddr - kBase), len);
      return true;
    };
  }
};

Regs at_rsp(uint64_t rsp) {
  Regs r{};
  r.gpr[4] = rsp;
  r.rip = 0xffffffff81000000ull;
  return r;
}

TEST(KernelStack, NamesTheSystemCallTheTaskIsIn) {
  Vmlinux vm(KVMRR_FAKE_VMLINUX);
  FakeStack s(202, 0x33);
  std::string out = describe_kernel_stack(at_rsp(FakeStack::kBase + 0x3e00), vm, s.reader());
  EXPECT_NE(out.find("kernel stack at"), std::string::npos) << out;
  EXPECT_NE(out.find("(no return addresses found)"), std::string::npos) << out;
  EXPECT_NE(out.find("system call 202"), std::string::npos) << out;
  EXPECT_NE(out.find("user rip=0x401234"), std::string::npos) << out;
}

TEST(KernelStack, NoEntryLineOnAStackThatDidNotComeFromUserMode) {
  Vmlinux vm(KVMRR_FAKE_VMLINUX);
  FakeStack s(202, 0x10);
  std::string out = describe_kernel_stack(at_rsp(FakeStack::kBase + 0x3e00), vm, s.reader());
  EXPECT_NE(out.find("kernel stack at"), std::string::npos) << out;
  EXPECT_EQ(out.find("entered from user mode"), std::string::npos) << out;
}

TEST(KernelStack, NothingForAUserRspOrAnUnreadableStack) {
  Vmlinux vm(KVMRR_FAKE_VMLINUX);
  FakeStack s(0, 0x33);
  EXPECT_EQ(describe_kernel_stack(at_rsp(0x7ffd0000), vm, s.reader()), "");
  EXPECT_EQ(describe_kernel_stack(at_rsp(0xffff888000200000ull), vm, s.reader()), "");
  EXPECT_EQ(describe_kernel_stack(at_rsp(FakeStack::kBase + 0x3e00), vm, GuestRead{}), "");
}

}  // namespace
}  // namespace kvmrr
