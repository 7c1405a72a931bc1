#include <gtest/gtest.h>

#include "kvmrr/fs_state.h"

namespace kvmrr::pmem {
namespace {

std::string probe(const std::string& body) { return "KVMRR-PMEM-PROBE " + std::to_string(body.size()) + "\n" + body; }

const char* kOld = "F d 755 3 0 0 /\nF d 755 2 0 0 /A\nF f 644 1 128 1111 /A/foo\nC 0 aa /A/foo\nC 1 bb /A/foo\n";
const char* kNew = "F d 755 3 0 0 /\nF d 755 2 0 0 /A\nF f 644 1 128 2222 /A/foo\nC 0 cc /A/foo\nC 1 dd /A/foo\n";

FsState one(const std::string& dump, bool mounted = true, int fsck = 0) {
  std::string body = "@@state 0\n";
  body += mounted ? "@@mount ok\n" + dump : "@@mount failed wrong fs type\n";
  body += "@@fsck " + std::to_string(fsck) + " clean\n@@end 0\n";
  return parse_probe_output(probe(body), 1).at(0);
}

TEST(FsState, ParsesTheProbe) {
  FsState s = one(kOld);
  EXPECT_TRUE(s.mounted);
  EXPECT_EQ(s.fsck_status, 0);
  ASSERT_EQ(s.files.size(), 3u);
  EXPECT_EQ(s.files["/A/foo"].size, 128u);
  EXPECT_EQ(s.files["/A/foo"].mode, 0644u);
  EXPECT_EQ(s.files["/A/foo"].chunks, (std::vector<uint64_t>{0xaa, 0xbb}));
  EXPECT_THROW(parse_probe_output("garbage", 1), std::runtime_error);
}

TEST(FsState, EqualToBeforeOrAfterPasses) {
  EXPECT_TRUE(judge(one(kOld), one(kOld), one(kNew)).ok);
  Verdict v = judge(one(kNew), one(kOld), one(kNew));
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.matched, "after");
}

TEST(FsState, TornWriteOfTheSyscallInFlightPasses) {
  std::string torn = "F d 755 3 0 0 /\nF d 755 2 0 0 /A\nF f 644 1 128 3333 /A/foo\nC 0 cc /A/foo\nC 1 bb /A/foo\n";
  EXPECT_TRUE(judge(one(torn), one(kOld), one(kNew)).ok);
  // The same chunk mix is wrong when before and after agree on the content.
  Verdict v = judge(one(torn), one(kNew), one(kNew));
  EXPECT_FALSE(v.ok);
  ASSERT_EQ(v.diff.size(), 1u);
  EXPECT_EQ(v.diff[0], "content /A/foo: differs from byte 64");
}

TEST(FsState, MissingFilesMountFailuresAndFsckErrorsFail) {
  std::string gone = "F d 755 3 0 0 /\nF d 755 2 0 0 /A\n";
  std::string extra = std::string(kNew) + "F f 644 1 0 0 /B\n";
  Verdict v = judge(one(gone), one(kNew), one(extra));
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.diff_against, "before");  // one difference there, two from after
  EXPECT_FALSE(judge(one(kOld, false), one(kOld), one(kNew)).ok);
  Verdict f = judge(one(kOld, true, 4), one(kOld), one(kNew));
  EXPECT_FALSE(f.ok);
  EXPECT_NE(f.why.find("fsck exit 4"), std::string::npos);
}

}  // namespace
}  // namespace kvmrr::pmem
