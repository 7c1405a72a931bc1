#include "kvmrr/kernel_identity.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace kvmrr {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// Guest RAM as a byte vector; reads past its end fail as reads of no RAM do.
struct FakeRam {
  std::vector<uint8_t> bytes;
  explicit FakeRam(uint64_t size) : bytes(size) {}
  PhysRead reader() {
    return [this](uint64_t gpa, void* buf, size_t len) {
      if (gpa + len > bytes.size()) return false;
      memcpy(buf, bytes.data() + gpa, len);
      return true;
    };
  }
  void put(uint64_t at, const void* p, size_t n) { memcpy(bytes.data() + at, p, n); }
  void put_note(uint64_t at, uint8_t first_id_byte) {
    uint32_t hdr[3] = {4, 20, 3};
    put(at, hdr, sizeof hdr);
    put(at + 12, "GNU", 4);
    for (int i = 0; i < 20; i++) bytes[at + 16 + i] = static_cast<uint8_t>(first_id_byte + i);
  }
};

TEST(KernelIdentity, FindsTheKernelsNoteAndBannerAboveItsLoadAddress) {
  FakeRam ram(40 * kMiB);
  ram.put_note(3 * kMiB, 0xa0);              // below the kernel: not its note
  ram.put_note(16 * kMiB + kMiB - 8, 0x10);  // across a 1 MiB chunk boundary
  ram.put_note(30 * kMiB, 0xc0);             // a user binary's, in the page cache
  const char banner[] = "Linux version 6.1.0 (kvm-rr) #1\n";
  ram.put(20 * kMiB + 5, banner, sizeof banner);
  auto id = find_kernel_identity(ram.reader(), ram.bytes.size());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->build_id, "101112131415161718191a1b1c1d1e1f20212223");
  EXPECT_EQ(id->banner, "Linux version 6.1.0 (kvm-rr) #1");
}

TEST(KernelIdentity, FallsBackToLowMemoryAndSaysNothingWithoutANote) {
  FakeRam ram(20 * kMiB);
  EXPECT_FALSE(find_kernel_identity(ram.reader(), ram.bytes.size()).has_value());
  ram.put_note(2 * kMiB, 0x01);
  auto id = find_kernel_identity(ram.reader(), ram.bytes.size());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->build_id.substr(0, 4), "0102");
  EXPECT_EQ(id->banner, "") << "no banner in memory";
}

TEST(KernelIdentity, TheVdsosNoteInsideTheKernelImageIsNotTheKernels) {
  FakeRam ram(40 * kMiB);
  ram.put(22 * kMiB,
          "\x7f"
          "ELF",
          4);                             // the vDSO image, page-aligned in rodata
  ram.put_note(22 * kMiB + 0x2a8, 0x50);  // its build-id
  ram.put_note(25 * kMiB + 0xadc, 0x70);  // the kernel's .notes
  auto id = find_kernel_identity(ram.reader(), ram.bytes.size());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->build_id.substr(0, 4), "7071");
}

TEST(KernelIdentity, ANoteHeaderOfAnotherKindIsNotABuildId) {
  FakeRam ram(20 * kMiB);
  uint32_t hdr[3] = {4, 20, 1};  // NT_GNU_ABI_TAG
  ram.put(17 * kMiB, hdr, sizeof hdr);
  ram.put(17 * kMiB + 12, "GNU", 4);
  EXPECT_FALSE(find_kernel_identity(ram.reader(), ram.bytes.size()).has_value());
}

}  // namespace
}  // namespace kvmrr
