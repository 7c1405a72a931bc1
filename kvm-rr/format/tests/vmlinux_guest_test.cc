#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "kvmrr/vmlinux.h"

namespace kvmrr {
namespace {

// The real guest kernel: registered with the e2e tests, which run after `make kernel`.
TEST(Vmlinux, GuestKernelHasHookSymbolsAndBanner) {
  const char* path = std::getenv("KVMRR_TEST_VMLINUX");
  ASSERT_TRUE(path && std::filesystem::exists(path))
      << "set KVMRR_TEST_VMLINUX to the guest vmlinux (make kernel builds it)";
  Vmlinux v(path);
  EXPECT_NE(v.banner().find("Linux version 6.1"), std::string::npos) << v.banner();
  auto f = v.symbol("_copy_from_user");
  ASSERT_TRUE(f.has_value());
  EXPECT_GE(*f, 0xffffffff81000000ull) << "KASLR-free kernel text";
  EXPECT_EQ(v.symbolize(*f + 1), "_copy_from_user+0x1");
  EXPECT_FALSE(v.build_id().empty());
}

}  // namespace
}  // namespace kvmrr
