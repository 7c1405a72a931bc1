#include "kvmrr/vmlinux.h"

#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

#include "kvmrr/error.h"
#include "test_util.h"

extern "C" __attribute__((noinline, used)) int kvmrr_vmlinux_test_probe(int x) { return x * 3 + 1; }

// A static function and a global alias of it, as the kernel's __do_sys_getpid and
// __x64_sys_getpid.
extern "C" {
__attribute__((noinline, used)) static int kvmrr_vmlinux_test_impl(int x) { return x + 7; }
int kvmrr_vmlinux_test_alias(int) __attribute__((alias("kvmrr_vmlinux_test_impl"), nothrow));
}

namespace kvmrr {
namespace {

// The test binary itself is an unstripped ELF with known symbols. It is a PIE, so symbol
// values are link-time addresses, which is all Vmlinux deals in.
TEST(Vmlinux, FindsAndSymbolizesSymbolsOfAnElf) {
  Vmlinux v("/proc/self/exe");
  auto probe = v.symbol("kvmrr_vmlinux_test_probe");
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(v.symbolize(*probe), "kvmrr_vmlinux_test_probe");
  EXPECT_EQ(v.symbolize(*probe + 2), "kvmrr_vmlinux_test_probe+0x2");
  EXPECT_FALSE(v.symbol("no_such_symbol_anywhere").has_value());
  EXPECT_EQ(v.build_id().size(), 40u) << "gcc links with a sha1 build-id";
  // The probe's code as the image holds it: x * 3 + 1 ends in a ret (0xc3), within 16 bytes
  // optimized, further with the sanitizers' checks (tools/sanitize-unit.sh).
  auto code = v.read(*probe, 256);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(std::find(code->begin(), code->end(), 0xc3), code->end());
  EXPECT_FALSE(v.read(0x10, 4).has_value());
}

TEST(Vmlinux, AnAliasedAddressIsNamedByItsGlobalSymbol) {
  Vmlinux v("/proc/self/exe");
  auto alias = v.symbol("kvmrr_vmlinux_test_alias");
  ASSERT_TRUE(alias.has_value());
  EXPECT_EQ(v.symbol("kvmrr_vmlinux_test_impl"), alias);
  EXPECT_EQ(v.symbolize(*alias), "kvmrr_vmlinux_test_alias");
  EXPECT_EQ(v.symbolize(*alias + 1), "kvmrr_vmlinux_test_alias+0x1");
}

TEST(Vmlinux, NotAnElfIsNamed) {
  testing::TempDir d;
  auto p = d.path() / "vmlinux";
  testing::write_file(p, std::vector<uint8_t>(64, 'x'));
  try {
    Vmlinux v(p);
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.file(), p);
    EXPECT_NE(std::string(e.what()).find("not an ELF"), std::string::npos);
  }
  EXPECT_THROW(Vmlinux(d.path() / "missing"), RecordingError);
}

}  // namespace
}  // namespace kvmrr
