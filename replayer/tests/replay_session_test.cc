#include "kvmrr/replay_session.h"

#include <fstream>

#include <gtest/gtest.h>

#include "kvmrr/guest-abi.h"
#include "kvmrr/recorder.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

Regs regs_at(uint64_t rip, uint64_t rax = 0) {
  Regs r{};
  r.rip = rip;
  r.gpr[0] = rax;
  return r;
}

// A recording made through the Recorder, as QEMU makes it: a syscall entry from the guest
// ring, then device reads in the kernel, then a kernel-mode interrupt.
std::filesystem::path make_recording(const TempDir& d, int io_reads) {
  std::string dir = (d.path() / "rec").string();
  RecordSetup info;
  info.dir = dir;
  info.smp = 1;
  Recorder r(info);
  std::ofstream(r.snapshot_path()) << "s";
  kvmrr_entry_record entry{};
  entry.hdr.type = KVMRR_REC_SYSCALL;
  entry.hdr.size = sizeof entry;
  entry.hdr.rip = 0x401000;
  entry.vector = 1;
  r.log_guest_records(reinterpret_cast<const uint8_t*>(&entry), sizeof entry);
  for (int i = 0; i < io_reads; i++) r.log_io_in(0, regs_at(0xffffffff81001000 + i, i), 0x3f8, 1, 0x41 + i);
  r.log_interrupt(0, regs_at(0xffffffff81002002), 0xec, 1);
  r.finish();
  return dir;
}

TEST(ReplaySession, MatchingReplayConsumesEverything) {
  TempDir d;
  Recording rec = Recording::open(make_recording(d, 3));
  ReplaySession s(rec);
  ASSERT_NE(s.expect_entry(0), nullptr);
  for (int i = 0; i < 3; i++) {
    const Event* e = s.expect(EventType::IoIn, 0, regs_at(0xffffffff81001000 + i, i));
    ASSERT_NE(e, nullptr) << s.report();
    EXPECT_EQ(e->args[2], uint64_t(0x41 + i));  // the value replay feeds back
  }
  ASSERT_NE(s.expect(EventType::Interrupt, 0, regs_at(0xffffffff81002002)), nullptr) << s.report();
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.divergence().has_value());
  EXPECT_EQ(s.consumed(), 5u);
}

TEST(ReplaySession, WrongRipIsADivergenceWithContext) {
  TempDir d;
  Recording rec = Recording::open(make_recording(d, 3));
  ReplaySession s(rec);
  ASSERT_NE(s.expect_entry(0), nullptr);
  ASSERT_NE(s.expect(EventType::IoIn, 0, regs_at(0xffffffff81001000, 0)), nullptr);
  EXPECT_EQ(s.expect(EventType::IoIn, 0, regs_at(0xffffffff81009999, 1)), nullptr);
  ASSERT_TRUE(s.divergence().has_value());
  const Divergence& dv = *s.divergence();
  EXPECT_EQ(dv.event_index, 2u);
  EXPECT_EQ(dv.vcpu, 0u);
  EXPECT_EQ(dv.recent.size(), 2u);
  std::string report = s.report();
  EXPECT_NE(report.find("DIVERGED at event 2 on vCPU 0"), std::string::npos) << report;
  EXPECT_NE(report.find("expected RIP 0xffffffff81001001, actual 0xffffffff81009999"), std::string::npos) << report;
  EXPECT_NE(report.find("#1 io_in"), std::string::npos) << report;
  EXPECT_NE(report.find("rax=0x0000000000000001"), std::string::npos) << report;
  // Once diverged, replay goes no further.
  EXPECT_EQ(s.expect(EventType::IoIn, 0, regs_at(0xffffffff81001002, 2)), nullptr);
  EXPECT_EQ(s.peek(), nullptr);
}

TEST(ReplaySession, SameRipDifferentRegistersIsADivergence) {
  TempDir d;
  Recording rec = Recording::open(make_recording(d, 1));
  ReplaySession s(rec);
  ASSERT_NE(s.expect_entry(0), nullptr);
  EXPECT_EQ(s.expect(EventType::IoIn, 0, regs_at(0xffffffff81001000, 7)), nullptr);
  EXPECT_NE(s.report().find("same RIP, different registers"), std::string::npos) << s.report();
}

TEST(ReplaySession, WrongKindAndRunningPastTheEndAreDivergences) {
  TempDir d;
  Recording rec = Recording::open(make_recording(d, 0));
  {
    ReplaySession s(rec);
    EXPECT_EQ(s.expect(EventType::Mmio, 0, regs_at(0xffffffff81000000)), nullptr);
    EXPECT_NE(s.report().find("expected syscall on vCPU 0"), std::string::npos) << s.report();
  }
  ReplaySession s(rec);
  ASSERT_NE(s.expect_entry(0), nullptr);
  ASSERT_NE(s.expect(EventType::Interrupt, 0, regs_at(0xffffffff81002002)), nullptr);
  EXPECT_EQ(s.expect_entry(0), nullptr);
  EXPECT_NE(s.report().find("no more events"), std::string::npos) << s.report();
}

}  // namespace
}  // namespace kvmrr
