#include <gtest/gtest.h>

#include "kvmrr/guest-abi.h"
#include "kvmrr/guest_records.h"

namespace kvmrr {
namespace {

constexpr uint32_t kHeader = sizeof(struct kvmrr_ring);

TEST(GuestRingHeader, TheGuestKernelsOwnRingPasses) {
  // kvm-rr's guest kernel: 1 MiB, a 256-byte header.
  EXPECT_EQ(check_guest_ring_header(4096, (1u << 20) - 256, 256, kHeader), "");
  EXPECT_EQ(check_guest_ring_header(0, (1u << 20) - 256, 256, kHeader), "");
}

TEST(GuestRingHeader, EachBadFieldIsNamedWithItsValue) {
  EXPECT_EQ(check_guest_ring_header(100, 50, 256, kHeader), "head 100 is past the end of the ring (size 50)");
  EXPECT_NE(check_guest_ring_header(0, 0xffffffffu, 256, kHeader).find("size 4294967295 is over"), std::string::npos);
  EXPECT_NE(check_guest_ring_header(0, 4096, 8, kHeader).find("header_size 8 is not between"), std::string::npos);
  EXPECT_NE(check_guest_ring_header(0, 4096, 65535, kHeader).find("header_size 65535"), std::string::npos);
}

}  // namespace
}  // namespace kvmrr
