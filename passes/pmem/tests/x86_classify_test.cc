#include <gtest/gtest.h>

#include "kvmrr/pmem_log.h"
#include "x86_classify.h"

namespace kvmrr::pmem {
namespace {

InsnInfo c(std::initializer_list<uint8_t> b) {
  std::vector<uint8_t> v(b);
  return classify_x86(v.data(), v.size());
}

TEST(X86Classify, Fences) {
  EXPECT_EQ(c({0x0f, 0xae, 0xf8}).cls, InsnClass::Fence);
  EXPECT_EQ(c({0x0f, 0xae, 0xf8}).kind, uint8_t(FenceKind::Sfence));
  EXPECT_EQ(c({0x0f, 0xae, 0xf0}).kind, uint8_t(FenceKind::Mfence));
  EXPECT_EQ(c({0x0f, 0xae, 0xe8}).cls, InsnClass::Plain);                         // lfence
  EXPECT_EQ(c({0xf0, 0x48, 0x0f, 0xb1, 0x0f}).kind, uint8_t(FenceKind::Locked));  // lock cmpxchg [rdi]
  EXPECT_EQ(c({0x48, 0x87, 0x07}).kind, uint8_t(FenceKind::Locked));              // xchg [rdi], rax
  EXPECT_EQ(c({0x48, 0x87, 0xc0}).cls, InsnClass::Plain);                         // xchg rax, rax
  EXPECT_EQ(c({0x0f, 0xa2}).kind, uint8_t(FenceKind::Serializing));               // cpuid
  EXPECT_EQ(c({0x48, 0xcf}).kind, uint8_t(FenceKind::Serializing));               // iretq
  EXPECT_EQ(c({0x0f, 0x01, 0xf8}).cls, InsnClass::Plain);                         // swapgs
  EXPECT_EQ(c({0x0f, 0x09}).cls, InsnClass::WriteBackAll);                        // wbinvd
}

TEST(X86Classify, Flushes) {
  // What the kernel's alternatives pick: ds clflush, clflushopt, clwb.
  EXPECT_EQ(c({0x3e, 0x0f, 0xae, 0x38}).cls, InsnClass::Flush);
  EXPECT_EQ(c({0x3e, 0x0f, 0xae, 0x38}).kind, uint8_t(FlushKind::Clflush));
  EXPECT_EQ(c({0x66, 0x0f, 0xae, 0x38}).kind, uint8_t(FlushKind::Clflushopt));
  EXPECT_EQ(c({0x66, 0x0f, 0xae, 0x30}).kind, uint8_t(FlushKind::Clwb));
  EXPECT_EQ(c({0x0f, 0xae, 0x30}).cls, InsnClass::Plain);              // xsaveopt
  EXPECT_EQ(c({0x0f, 0xae, 0x7c, 0x24, 0x08}).cls, InsnClass::Flush);  // clflush [rsp+8]
}

TEST(X86Classify, NonTemporalStores) {
  EXPECT_EQ(c({0x48, 0x0f, 0xc3, 0x07}).cls, InsnClass::NonTemporalStore);  // movnti [rdi], rax
  EXPECT_EQ(c({0x66, 0x0f, 0xe7, 0x07}).cls, InsnClass::NonTemporalStore);  // movntdq
  EXPECT_EQ(c({0xc5, 0xf9, 0xe7, 0x07}).cls, InsnClass::NonTemporalStore);  // vmovntdq
  EXPECT_EQ(c({0x48, 0x89, 0x07}).cls, InsnClass::Plain);                   // mov [rdi], rax
}

}  // namespace
}  // namespace kvmrr::pmem
