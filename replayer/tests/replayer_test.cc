#include "kvmrr/replayer.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kvmrr/guest-abi.h"
#include "kvmrr/recorder.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;
using Step = Replayer::Step;

constexpr uint64_t kRingGpa = 0x1b61000;

Regs regs_at(uint64_t rip) {
  Regs r{};
  r.rip = rip;
  return r;
}

// Builds a recording through the Recorder, as QEMU does, against the fake vmlinux.
class RecordingBuilder {
 public:
  explicit RecordingBuilder(const TempDir& d, const std::vector<CpuidEntry>& cpuid = {}, const char* accel = "tcg")
      : dir_((d.path() / "rec").string()) {
    RecordSetup info;
    info.dir = dir_;
    info.accel = accel;
    info.cpuid = cpuid;
    info.smp = 1;
    info.guest_ring_gpa = kRingGpa;
    info.vmlinux = KVMRR_FAKE_VMLINUX;
    rec_ = std::make_unique<Recorder>(info);
    std::ofstream(rec_->snapshot_path()) << "s";
  }
  Recorder& operator*() { return *rec_; }
  Recorder* operator->() { return rec_.get(); }
  void guest(const void* record, size_t size) { rec_->log_guest_records(static_cast<const uint8_t*>(record), size); }
  void rdtsc(uint64_t rip, uint64_t value) {
    kvmrr_value_record r{};
    r.hdr = {KVMRR_REC_RDTSC, sizeof r, 0, rip};
    r.value = value;
    guest(&r, sizeof r);
  }
  void window(uint64_t rip, uint64_t count) {
    kvmrr_value_record r{};
    r.hdr = {KVMRR_REC_YIELD_WINDOW, sizeof r, 0, rip};
    r.value = count;
    guest(&r, sizeof r);
  }
  void user_read(uint64_t rip, uint64_t uaddr, const std::string& bytes, uint32_t kind) {
    std::vector<uint8_t> buf(sizeof(kvmrr_user_record) + (bytes.size() + 7) / 8 * 8);
    kvmrr_user_record r{};
    r.hdr = {KVMRR_REC_CFU, uint16_t(buf.size()), 0, rip};
    r.uaddr = uaddr;
    r.len = uint32_t(bytes.size());
    r.kind = kind;
    memcpy(buf.data(), &r, sizeof r);
    memcpy(buf.data() + sizeof r, bytes.data(), bytes.size());
    guest(buf.data(), buf.size());
  }
  void syscall(uint64_t rip, uint64_t nr, uint64_t pid = 1) {
    kvmrr_entry_record e{};
    e.hdr = {KVMRR_REC_SYSCALL, sizeof e, 0, rip};
    e.vector = nr;
    e.task = pid;
    e.regs[16] = rip;
    guest(&e, sizeof e);
  }
  void dma(uint64_t sync, DmaTiming in_io, uint64_t ram_addr, const std::string& bytes) {
    rec_->log_dma(0, sync, in_io, ram_addr, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::filesystem::path finish() {
    rec_->finish();
    rec_.reset();
    return dir_;
  }

 private:
  std::string dir_;
  std::unique_ptr<Recorder> rec_;
};

// Guest memory as the replaying QEMU would write it: address -> bytes.
struct Memory {
  std::map<uint64_t, std::string> writes;
  int write(uint64_t addr, const void* buf, size_t len) {
    writes[addr] = std::string(static_cast<const char*>(buf), len);
    return 0;
  }
  // What replay writes with.
  std::function<int(uint64_t, const void*, size_t)> writer() {
    return [this](uint64_t a, const void* b, size_t n) { return write(a, b, n); };
  }
};

// The replay diverged and says `what` about it; on failure, the whole report.
::testing::AssertionResult diverged_saying(Replayer& r, const std::string& what) {
  if (!r.session().divergence()) return ::testing::AssertionFailure() << "no divergence";
  if (r.session().divergence()->what.find(what) == std::string::npos)
    return ::testing::AssertionFailure() << "the divergence does not say \"" << what << "\":\n" << r.session().report();
  return ::testing::AssertionSuccess();
}

// One sync-point check as QEMU makes it; what replay answered stays in vector and switched.
struct SyncCheck {
  int32_t vector = -1;
  bool switched = false;
  Step operator()(Replayer& r, uint32_t vcpu, const Regs& regs, uint64_t sync_count, bool halted) {
    return r.sync_point(vcpu, regs, sync_count, halted, &vector, &switched);
  }
};

std::vector<uint8_t> ring_of(const std::vector<std::pair<const void*, size_t>>& records) {
  std::vector<uint8_t> out;
  for (auto [p, n] : records) out.insert(out.end(), (const uint8_t*)p, (const uint8_t*)p + n);
  return out;
}

TEST(Replayer, FindsHooksBySymbolAndTheFirstWindow) {
  TempDir d;
  RecordingBuilder b(d);
  b.rdtsc(0xffffffff81000010, 5);
  b.window(0xffffffff81000020, 7);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Vmlinux v(KVMRR_FAKE_VMLINUX);
  EXPECT_EQ(r.hooks().tsc, *v.symbol("kvmrr_tsc"));
  EXPECT_EQ(r.hooks().user_read, *v.symbol("kvmrr_user_read"));
  EXPECT_EQ(r.hooks().user_value, *v.symbol("kvmrr_user_value"));
  EXPECT_EQ(r.hooks().yield_point, *v.symbol("kvmrr_yield_point"));
  EXPECT_EQ(r.hooks().guest_ring_gpa, kRingGpa);
  EXPECT_EQ(r.hooks().yield_target[0], 7u);
  EXPECT_EQ(r.hooks().yield_target[1], UINT64_MAX);
}

// Replay answers CPUID from the recorded table (a KVM recording's CPU, say), not from the
// replaying QEMU's model.
TEST(Replayer, AnswersCpuidFromTheRecordedTable) {
  TempDir d;
  RecordingBuilder b(d,
                     {{0, 0, 7, 1, 2, 3},
                      {1, 0, 0x663, 0x800, 0x80002001, 0x78bfbfd},
                      {7, 0, 0, 0x9, 0, 0},
                      {0x80000000u, 0, 0x80000008u, 0, 0, 0},
                      {0x80000001u, 0, 0, 0, 0x1, 0x20100800}},
                     "KVM");
  b.rdtsc(0xffffffff81000010, 5);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  uint32_t out[4];
  ASSERT_TRUE(r.cpuid(1, 0x55, out));  // leaf 1 ignores ECX
  EXPECT_EQ(out[0], 0x663u);
  EXPECT_EQ(out[2], 0x80002001u);
  ASSERT_TRUE(r.cpuid(7, 0, out));
  EXPECT_EQ(out[1], 0x9u);
  ASSERT_TRUE(r.cpuid(7, 1, out));  // a subleaf the table lacks reads as zero
  EXPECT_EQ(out[0] | out[1] | out[2] | out[3], 0u);
  ASSERT_TRUE(r.cpuid(5, 0, out));  // within the basic range, not recorded: zero
  EXPECT_EQ(out[0] | out[1] | out[2] | out[3], 0u);
  ASSERT_TRUE(r.cpuid(0x80000001u, 0, out));
  EXPECT_EQ(out[3], 0x20100800u);
  EXPECT_FALSE(r.cpuid(8, 0, out));            // beyond the basic leaves
  EXPECT_FALSE(r.cpuid(0x40000000u, 0, out));  // hypervisor leaves were not recorded
  EXPECT_FALSE(r.cpuid(0x80000009u, 0, out));
  EXPECT_EQ(r.hooks().smp, 1u);
}

TEST(Replayer, DeviceWritesWaitForTheirSyncPoint) {
  TempDir d;
  RecordingBuilder b(d);
  b.dma(5, DmaTiming::AtSyncPoint, 0x1000, "ab");
  b.dma(6, DmaTiming::InAccess, 0x2000, "cd");     // inside the vCPU's device access at sync point 6
  b.dma(6, DmaTiming::AtSyncPoint, 0x3000, "ef");  // while parked at sync point 6
  b->log_interrupt(0, regs_at(0xffffffff81000100), 0xec, 6);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  ASSERT_EQ(r.dma(0, 5, DmaTiming::AtSyncPoint, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes.size(), 1u);
  EXPECT_EQ(m.writes[0x1000], "ab");
  // At sync point 5 nothing else is due; a device access there owns no write either.
  ASSERT_EQ(r.dma(0, 5, DmaTiming::AtSyncPoint, m.writer()), Step::Continue);
  ASSERT_EQ(r.dma(0, 5, DmaTiming::InAccess, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes.size(), 1u);
  ASSERT_EQ(r.dma(0, 6, DmaTiming::InAccess, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes[0x2000], "cd");
  EXPECT_EQ(m.writes.count(0x3000), 0u) << "a parked write was applied inside a device access";
  SyncCheck sync;
  ASSERT_EQ(r.dma(0, 6, DmaTiming::AtSyncPoint, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes[0x3000], "ef");
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 6, false), Step::Continue);
  EXPECT_EQ(sync.vector, 0xec);
  ASSERT_EQ(r.interrupt(0, regs_at(0xffffffff81000100), 0xec), Step::Continue) << r.session().report();
  EXPECT_FALSE(r.session().divergence());
}

// A device may write between the snapshot and the vCPU's first instruction (the main loop
// has the big lock as the machine resumes): replay writes that before the vCPU runs, and
// only then.
TEST(Replayer, DeviceWritesFromBeforeTheVcpuRanComeFirst) {
  TempDir d;
  RecordingBuilder b(d);
  b.dma(0, DmaTiming::BeforeRun, 0x1000, "ab");
  b.dma(0, DmaTiming::AtSyncPoint, 0x2000, "cd");  // later, with the vCPU in user mode
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  ASSERT_EQ(r.dma(0, 0, DmaTiming::BeforeRun, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes.size(), 1u);
  EXPECT_EQ(m.writes[0x1000], "ab");
  ASSERT_EQ(r.dma(0, 0, DmaTiming::AtSyncPoint, m.writer()), Step::Continue);
  EXPECT_EQ(m.writes[0x2000], "cd");

  TempDir d2;
  RecordingBuilder b2(d2);
  b2.dma(0, DmaTiming::BeforeRun, 0x1000, "ab");
  Replayer late(b2.finish(), KVMRR_FAKE_VMLINUX);
  EXPECT_EQ(late.dma(0, 1, DmaTiming::AtSyncPoint, m.writer()), Step::Stop);
  EXPECT_TRUE(diverged_saying(late, "before the vCPU ran"));
}

TEST(Replayer, ADeviceWriteWhoseSyncPointPassedIsADivergence) {
  TempDir d;
  RecordingBuilder b(d);
  b.dma(3, DmaTiming::AtSyncPoint, 0x1000, "ab");
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  EXPECT_EQ(r.dma(0, 4, DmaTiming::AtSyncPoint, m.writer()), Step::Stop);
  EXPECT_TRUE(diverged_saying(r, "sync point 3"));
  EXPECT_TRUE(m.writes.empty());
}

// Several vCPUs replay one at a time in log order: a vCPU that needs another vCPU's turn
// waits (nothing consumed), a deschedule stops it at its sync point, and it picks up there.
TEST(Replayer, SeveralVcpusTakeTurnsInLogOrder) {
  TempDir d;
  RecordingBuilder b(d);
  auto rdtsc_on = [&](uint32_t vcpu, uint64_t rip, uint64_t value) {
    kvmrr_value_record rec{};
    rec.hdr = {KVMRR_REC_RDTSC, sizeof rec, vcpu, rip};
    rec.value = value;
    b.guest(&rec, sizeof rec);
  };
  rdtsc_on(0, 0xffffffff81000010, 100);
  b->log_deschedule(0, regs_at(0xffffffff81000020), 3);
  b->log_interrupt(1, regs_at(0xffffffff81000030), 0xec, 7);
  rdtsc_on(1, 0xffffffff81000010, 200);
  b->log_resume(0, regs_at(0xffffffff81000020), 3);
  b->log_interrupt(0, regs_at(0xffffffff81000020), 0xfb, 3);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  uint64_t value = 0;
  SyncCheck sync;

  EXPECT_EQ(r.turn(), 0);
  EXPECT_EQ(r.tsc(1, regs_at(0), 0xffffffff81000010, &value), Step::Wait);
  ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &value), Step::Continue) << r.session().report();
  EXPECT_EQ(value, 100u);
  // Sync point 2 has nothing; at 3 the recording ran vCPU 1.
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 2, false), Step::Continue);
  EXPECT_FALSE(sync.switched);
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 3, false), Step::Wait);
  EXPECT_TRUE(sync.switched);
  EXPECT_EQ(sync.vector, -1);
  EXPECT_EQ(r.turn(), 1);
  // vCPU 1 was halted at its sync point 7; its interrupt is next.
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 7, true), Step::Continue) << r.session().report();
  EXPECT_EQ(sync.vector, 0xec);
  ASSERT_EQ(r.interrupt(1, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  ASSERT_EQ(r.tsc(1, regs_at(0), 0xffffffff81000010, &value), Step::Continue);
  EXPECT_EQ(value, 200u);
  // vCPU 1 halts again with nothing for it: it waits; vCPU 0 resumes at sync point 3.
  EXPECT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 8, true), Step::Wait);
  EXPECT_EQ(r.turn(), 0);
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 3, false), Step::Continue) << r.session().report();
  EXPECT_TRUE(sync.switched);  // its resume
  EXPECT_EQ(sync.vector, 0xfb);
  EXPECT_FALSE(r.session().divergence());
}

// Descheduled at a sync point, a vCPU waits for its turn even when its own next event is
// far ahead: running on would interleave its kernel code with the other vCPU's differently.
TEST(Replayer, DescheduledVcpuWaitsThoughItsNextEventIsLater) {
  TempDir d;
  RecordingBuilder b(d);
  b->log_deschedule(1, regs_at(0xffffffff81000020), 12);
  b->log_interrupt(0, regs_at(0xffffffff81000030), 0xec, 5);
  b->log_resume(1, regs_at(0xffffffff81000020), 12);
  b->log_interrupt(1, regs_at(0xffffffff81000020), 0xec, 13);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 12, false), Step::Wait) << r.session().report();
  EXPECT_TRUE(sync.switched);
  EXPECT_EQ(r.turn(), 0);
  // Its turn again, at the same sync point: nothing more there, it runs on to 13.
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 5, true), Step::Continue) << r.session().report();
  ASSERT_EQ(r.interrupt(0, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  EXPECT_EQ(r.turn(), 1);
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 12, false), Step::Continue) << r.session().report();
  EXPECT_TRUE(sync.switched);
  EXPECT_EQ(sync.vector, -1);
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 13, false), Step::Continue) << r.session().report();
  EXPECT_EQ(sync.vector, 0xec);
  EXPECT_FALSE(r.session().divergence());
}

// Under KVM the main loop may write guest memory while no vCPU holds the kernel: the recorder
// anchors it at the sync point where the last holder left it. The descheduled vCPU stays
// parked there; the write is done on its turn, then it waits for its resume.
TEST(Replayer, DeviceWriteAfterADescheduleWaitsWithTheVcpuParked) {
  TempDir d;
  RecordingBuilder b(d);
  const uint8_t dev[] = {0xaa, 0xbb};
  b->log_deschedule(1, regs_at(0xffffffff81000020), 2);
  b->log_dma(1, 2, DmaTiming::AtSyncPoint, 0x4000, dev, sizeof dev);
  b->log_resume(0, regs_at(0xffffffff81000030), 1);
  b->log_interrupt(0, regs_at(0xffffffff81000030), 0xec, 1);
  b->log_resume(1, regs_at(0xffffffff81000020), 2);
  b->log_interrupt(1, regs_at(0xffffffff81000040), 0xec, 3);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 2, false), Step::Wait) << r.session().report();
  EXPECT_TRUE(sync.switched);
  // Its own turn (the write): the check is redone at the same sync point.
  EXPECT_EQ(r.turn(), 1);
  Memory ram;
  ASSERT_EQ(r.dma(1, 2, DmaTiming::AtSyncPoint, ram.writer()), Step::Continue) << r.session().report();
  EXPECT_EQ(ram.writes[0x4000], "\xaa\xbb");
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 2, false), Step::Wait) << r.session().report();
  EXPECT_EQ(r.turn(), 0);
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000030), 1, false), Step::Continue) << r.session().report();
  EXPECT_EQ(sync.vector, 0xec);
  ASSERT_EQ(r.interrupt(0, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 2, false), Step::Continue) << r.session().report();
  EXPECT_TRUE(sync.switched);
  EXPECT_FALSE(r.session().divergence());
}

// Several vCPUs under KVM: the main loop wrote while it held the guest's kernel token, after
// vCPU 0 left the kernel and before vCPU 1 entered it. Replay writes it when it reaches the
// log's head, whichever vCPU asks first; the event's vcpu and sync say nothing.
TEST(Replayer, DeviceWriteMadeWithNoVcpuInTheKernelIsDoneWhereTheLogHasIt) {
  TempDir d;
  RecordingBuilder b(d);
  const uint8_t dev[] = {0x42, 0x43};
  b->log_interrupt(0, regs_at(0xffffffff81000030), 0xec, 9);
  b->log_dma(0, 77, DmaTiming::Between, 0x6000, dev, sizeof dev);
  b->log_interrupt(1, regs_at(0x401000), 0xec, 4);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  Memory ram;
  ASSERT_EQ(r.dma(0, 0, DmaTiming::BeforeRun, ram.writer()), Step::Continue) << r.session().report();
  EXPECT_EQ(r.turn(), 0);
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000030), 9, true), Step::Continue) << r.session().report();
  ASSERT_EQ(r.interrupt(0, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  EXPECT_TRUE(ram.writes.empty());
  // Asking whose turn it is does the write, and names vCPU 1, not the write's vCPU 0.
  EXPECT_EQ(r.turn(), 1);
  EXPECT_EQ(ram.writes[0x6000], "\x42\x43");
  ASSERT_EQ(r.dma(1, 4, DmaTiming::InUser, ram.writer()), Step::Continue) << r.session().report();
  EXPECT_FALSE(r.session().divergence());

  // Reached first by a vCPU's own hook (no turn() between), the write is done there too.
  TempDir d2;
  RecordingBuilder b2(d2);
  b2->log_dma(1, 0, DmaTiming::Between, 0x6000, dev, sizeof dev);
  b2->log_interrupt(0, regs_at(0x401000), 0xec, 4);
  Replayer r2(b2.finish(), KVMRR_FAKE_VMLINUX);
  Memory ram2;
  ASSERT_EQ(r2.dma(0, 0, DmaTiming::BeforeRun, ram2.writer()), Step::Continue) << r2.session().report();
  EXPECT_TRUE(ram2.writes.empty());
  ASSERT_EQ(r2.dma(0, 4, DmaTiming::InUser, ram2.writer()), Step::Continue) << r2.session().report();
  EXPECT_EQ(ram2.writes[0x6000], "\x42\x43");
  EXPECT_FALSE(r2.session().divergence());
}

// Under TCG a device may write while the vCPU that ran last has gone on from its sync point
// (a return to user mode's yield window, say) into user mode. Replay must not hold the vCPU
// at that sync point for the write: the recorded vCPU ran the rest of its way out of the
// kernel before the other vCPUs' kernel code. It runs on; the write is done as it enters
// the kernel again, when the log gets there (evidence: smp4-munmap, issue 32).
TEST(Replayer, DeviceWriteMadeInUserModeWaitsForTheNextKernelEntry) {
  TempDir d;
  RecordingBuilder b(d);
  const uint8_t dev[] = {0x5a};
  // vCPU 1 at sync point 4 (its window), then in user mode: the write, anchored at 4.
  b->log_interrupt(0, regs_at(0xffffffff81000030), 0xec, 9);
  b->log_dma(1, 4, DmaTiming::InUser, 0x5000, dev, sizeof dev);
  b->log_interrupt(1, regs_at(0x401000), 0xec, 4);  // stands for its next kernel entry
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  Memory ram;
  // vCPU 0's turn first. vCPU 1, at its sync point 4 in kernel mode, runs on to user mode.
  EXPECT_EQ(r.turn(), 0);
  ASSERT_EQ(r.dma(1, 4, DmaTiming::AtSyncPoint, ram.writer()), Step::Continue) << r.session().report();
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000020), 4, false), Step::Continue) << r.session().report();
  EXPECT_TRUE(ram.writes.empty());
  // About to enter the kernel from user mode, it waits for its turn there.
  EXPECT_EQ(r.dma(1, 4, DmaTiming::InUser, ram.writer()), Step::Wait);
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000030), 9, true), Step::Continue) << r.session().report();
  ASSERT_EQ(r.interrupt(0, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  EXPECT_EQ(r.turn(), 1);
  ASSERT_EQ(r.dma(1, 4, DmaTiming::InUser, ram.writer()), Step::Continue) << r.session().report();
  EXPECT_EQ(ram.writes[0x5000], "\x5a");
  EXPECT_FALSE(r.session().divergence());

  // A write made at the sync point itself (the vCPU parked there) is still done there.
  TempDir d2;
  RecordingBuilder b2(d2);
  b2->log_dma(1, 4, DmaTiming::AtSyncPoint, 0x5000, dev, sizeof dev);
  b2->log_interrupt(1, regs_at(0xffffffff81000020), 0xec, 4);
  Replayer r2(b2.finish(), KVMRR_FAKE_VMLINUX);
  Memory ram2;
  ASSERT_EQ(r2.dma(1, 4, DmaTiming::AtSyncPoint, ram2.writer()), Step::Continue) << r2.session().report();
  EXPECT_EQ(ram2.writes[0x5000], "\x5a");
}

// A vCPU that runs past the sync point where the recording left it diverges, naming it.
TEST(Replayer, PassingADescheduleDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  b->log_deschedule(0, regs_at(0xffffffff81000020), 3);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 4, false), Step::Stop);
  EXPECT_TRUE(diverged_saying(r, "left it to run another vCPU"));
}

// At the right sync count but in another state (here another RSP) the vCPU is not where the
// recorder left it: the report shows both register files.
TEST(Replayer, DescheduleWithOtherRegistersDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  Regs left = regs_at(0xffffffff81000020);
  left.gpr[4] = 0xffffc90000001000;
  b->log_deschedule(0, left, 3);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  Regs here = left;
  here.gpr[4] += 8;
  EXPECT_EQ(sync(r, 0, here, 3, false), Step::Stop);
  ASSERT_TRUE(r.session().divergence());
  EXPECT_NE(r.session().report().find("*rsp="), std::string::npos) << r.session().report();
}

// A vCPU the recorder ran again without logging anything until its return to user mode
// still runs at its resume's place in the log; in kernel mode at the snapshot, it waits for
// its first resume.
TEST(Replayer, ResumedVcpuRunsAtItsResume) {
  TempDir d;
  RecordingBuilder b(d);
  b->log_resume(1, regs_at(0xffffffff81000040), 0);
  b->log_deschedule(1, regs_at(0xffffffff81000050), 1);
  b->log_resume(0, regs_at(0xffffffff81000020), 0);
  b->log_resume(1, regs_at(0xffffffff81000050), 1);
  b->log_interrupt(0, regs_at(0xffffffff81000020), 0xec, 2);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 0, false), Step::Wait);
  EXPECT_FALSE(sync.switched);
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000040), 0, false), Step::Continue) << r.session().report();
  EXPECT_TRUE(sync.switched);
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000050), 1, false), Step::Wait) << r.session().report();
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 0, false), Step::Continue) << r.session().report();
  // vCPU 0 runs on to its sync point 2, but vCPU 1's resume comes first in the log.
  EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 2, false), Step::Wait);
  EXPECT_EQ(r.turn(), 1);
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000050), 1, false), Step::Continue) << r.session().report();
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 2, false), Step::Continue) << r.session().report();
  EXPECT_EQ(sync.vector, 0xec);
  EXPECT_FALSE(r.session().divergence());
}

TEST(Replayer, ResumeAtAnotherSyncPointDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  b->log_resume(0, regs_at(0xffffffff81000020), 4);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  SyncCheck sync;
  EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 3, false), Step::Stop);
  EXPECT_TRUE(diverged_saying(r, "runs again at sync point 3"));
}

TEST(Replayer, InterruptPassedOrMissingAtAHaltDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  b->log_interrupt(0, regs_at(0xffffffff81000100), 0xec, 4);
  auto dir = b.finish();
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    SyncCheck sync;
    EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 3, false), Step::Continue);
    EXPECT_EQ(sync.vector, -1);
    EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 5, false), Step::Stop);
    EXPECT_TRUE(diverged_saying(r, "passed sync point 4"));
  }
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    SyncCheck sync;
    EXPECT_EQ(sync(r, 0, regs_at(0xffffffff81000020), 3, true), Step::Stop);
    EXPECT_TRUE(diverged_saying(r, "halted"));
  }
}

// The guest's ring filled up after a chunk of a long user read: the recorder logged a device
// write and a deschedule at that flush's sync point, before the next chunk. Replay writes
// every chunk's bytes at the read's hook, and consumes the later chunks' events where the
// guest appends them, after that sync point. The read is copy_from_user, logged after the
// copy: the bytes go into the kernel's copy, and into user memory too.
TEST(Replayer, UserReadWithARingFlushInsideIt) {
  TempDir d;
  RecordingBuilder b(d);
  std::string big(KVMRR_USER_CHUNK, 'x');
  constexpr uint64_t kKernelCopy = 0xffff888000200000;
  b.user_read(0xffffffff81000200, 0x10000, big, KVMRR_UREAD_COPY);
  b.dma(5, DmaTiming::AtSyncPoint, 0x3000, "dev");
  b->log_deschedule(0, regs_at(0xffffffff81000220), 5);
  b->log_interrupt(1, regs_at(0xffffffff81000030), 0xec, 9);
  b->log_resume(0, regs_at(0xffffffff81000220), 5);
  b.user_read(0xffffffff81000200, 0x10000 + KVMRR_USER_CHUNK, "tail", KVMRR_UREAD_COPY);
  b.rdtsc(0xffffffff81000400, 42);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  ASSERT_EQ(r.user_read(0, regs_at(0), 0xffffffff81000200, 0x10000, KVMRR_USER_CHUNK + 4, KVMRR_UREAD_COPY, kKernelCopy,
                        m.writer()),
            Step::Continue)
      << r.session().report();
  EXPECT_EQ(m.writes[kKernelCopy], big);
  EXPECT_EQ(m.writes[kKernelCopy + KVMRR_USER_CHUNK], "tail");
  EXPECT_EQ(m.writes[0x10000], big);
  EXPECT_EQ(m.writes[0x10000 + KVMRR_USER_CHUNK], "tail");
  // The flush: its sync point has the device write and the deschedule.
  Memory ram;
  ASSERT_EQ(r.dma(0, 5, DmaTiming::AtSyncPoint, ram.writer()), Step::Continue) << r.session().report();
  EXPECT_EQ(ram.writes[0x3000], "dev");
  SyncCheck sync;
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000220), 5, false), Step::Wait) << r.session().report();
  ASSERT_EQ(sync(r, 1, regs_at(0xffffffff81000030), 9, true), Step::Continue) << r.session().report();
  ASSERT_EQ(r.interrupt(1, regs_at(0xffffffff81000030), 0xec), Step::Continue) << r.session().report();
  // vCPU 0 resumes; the second chunk is consumed there, the ring then holds both records.
  ASSERT_EQ(sync(r, 0, regs_at(0xffffffff81000220), 5, false), Step::Continue) << r.session().report();
  uint64_t tsc = 0;
  ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000400, &tsc), Step::Continue) << r.session().report();
  EXPECT_EQ(tsc, 42u);
  EXPECT_FALSE(r.session().divergence());
}

TEST(Replayer, UserReadsAreWrittenBackChunkByChunkAndStringsStopAtTheirNul) {
  TempDir d;
  RecordingBuilder b(d);
  std::string big(KVMRR_USER_CHUNK, 'x');
  b.user_read(0xffffffff81000200, 0x10000, big, KVMRR_UREAD_COPY);
  b.user_read(0xffffffff81000200, 0x10000 + KVMRR_USER_CHUNK, "tail", KVMRR_UREAD_COPY);
  b.user_read(0xffffffff81000300, 0x20000, std::string("/bin/sh\0", 8), KVMRR_UREAD_STRING);
  b.rdtsc(0xffffffff81000400, 42);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  ASSERT_EQ(
      r.user_read(0, regs_at(0), 0xffffffff81000200, 0x10000, KVMRR_USER_CHUNK + 4, KVMRR_UREAD_COPY, 0, m.writer()),
      Step::Continue)
      << r.session().report();
  EXPECT_EQ(m.writes[0x10000], big);
  EXPECT_EQ(m.writes[0x10000 + KVMRR_USER_CHUNK], "tail");
  // strncpy_from_user(dst, src, 4096): one record, ended by the NUL.
  ASSERT_EQ(r.user_read(0, regs_at(0), 0xffffffff81000300, 0x20000, 4096, KVMRR_UREAD_STRING, 0, m.writer()),
            Step::Continue)
      << r.session().report();
  EXPECT_EQ(m.writes[0x20000], std::string("/bin/sh\0", 8));
  uint64_t tsc = 0;
  ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000400, &tsc), Step::Continue) << r.session().report();
  EXPECT_EQ(tsc, 42u);
}

TEST(Replayer, SharedMemoryIsWrittenBackAtItsKernelAddress) {
  TempDir d;
  RecordingBuilder b(d);
  b.user_read(0xffffffff81000700, 0xffff888001234040, std::string("\x07\0\0\0", 4), KVMRR_UREAD_SHARED);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  ASSERT_EQ(r.user_read(0, regs_at(0), 0xffffffff81000700, 0xffff888001234040, 4, KVMRR_UREAD_SHARED, 0, m.writer()),
            Step::Continue)
      << r.session().report();
  EXPECT_EQ(m.writes[0xffff888001234040], std::string("\x07\0\0\0", 4));
}

TEST(Replayer, AUserReadAtAnotherAddressDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  b.user_read(0xffffffff81000200, 0x10000, "abc", KVMRR_UREAD_COPY);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  EXPECT_EQ(r.user_read(0, regs_at(0), 0xffffffff81000200, 0x10008, 3, KVMRR_UREAD_COPY, 0, m.writer()), Step::Stop);
  EXPECT_NE(r.session().report().find("the log read 3 bytes at 0x10000"), std::string::npos) << r.session().report();
  EXPECT_TRUE(m.writes.empty());
}

// get_user and futex atomics log the value they loaded once loaded (user code on another
// vCPU may store to the word before): replay's own load read stale memory; the hook's value
// is the logged one, and user memory gets it too.
TEST(Replayer, AUserValueIsTheLoggedOne) {
  TempDir d;
  RecordingBuilder b(d);
  b.user_read(0xffffffff81000228, 0x39152710, std::string("\x01\0\0\0", 4), KVMRR_UREAD_SCALAR);
  b.user_read(0xffffffff81000228, 0x39152718, std::string("\x02\x03", 2), KVMRR_UREAD_SCALAR);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  uint64_t value = 0;  // what replay's load got
  ASSERT_EQ(r.user_value(0, regs_at(0), 0xffffffff81000228, 0x39152710, 4, &value, m.writer()), Step::Continue)
      << r.session().report();
  EXPECT_EQ(value, 1u);
  EXPECT_EQ(m.writes[0x39152710], std::string("\x01\0\0\0", 4));
  value = 0xffff;
  ASSERT_EQ(r.user_value(0, regs_at(0), 0xffffffff81000228, 0x39152718, 2, &value, m.writer()), Step::Continue)
      << r.session().report();
  EXPECT_EQ(value, 0x0302u);
  EXPECT_FALSE(r.session().divergence());
}

TEST(Replayer, AUserValueOfAnotherSizeOrAddressDiverges) {
  for (auto [uaddr, size] : {std::pair<uint64_t, uint64_t>{0x39152710, 8}, {0x39152714, 4}}) {
    TempDir d;
    RecordingBuilder b(d);
    b.user_read(0xffffffff81000228, 0x39152710, std::string("\x01\0\0\0", 4), KVMRR_UREAD_SCALAR);
    Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
    Memory m;
    uint64_t value = 0;
    EXPECT_EQ(r.user_value(0, regs_at(0), 0xffffffff81000228, uaddr, size, &value, m.writer()), Step::Stop);
    EXPECT_TRUE(diverged_saying(r, "the log has 4 bytes at 0x39152710"));
    EXPECT_TRUE(m.writes.empty());
    EXPECT_EQ(value, 0u);
  }
}

TEST(Replayer, YieldWindowsOpenAtTheirCountAndCallSite) {
  TempDir d;
  RecordingBuilder b(d);
  b.window(0xffffffff81000500, 7);
  b.window(0xffffffff81000600, 9);
  auto dir = b.finish();
  Replayer r(dir, KVMRR_FAKE_VMLINUX);
  uint32_t open = 1;
  ASSERT_EQ(r.yield_point(0, regs_at(0), 0xffffffff81000600, 6, &open), Step::Continue);
  EXPECT_EQ(open, 0u);
  ASSERT_EQ(r.yield_point(0, regs_at(0), 0xffffffff81000500, 7, &open), Step::Continue);
  EXPECT_EQ(open, 1u);
  uint64_t next = 0;
  ASSERT_EQ(r.yield_window(0, 7, &next), Step::Continue) << r.session().report();
  EXPECT_EQ(next, 9u);
  // The same count at another call site: the kernel took another path.
  EXPECT_EQ(r.yield_point(0, regs_at(0), 0xffffffff81000500, 9, &open), Step::Stop);
  EXPECT_TRUE(diverged_saying(r, "yield point 9"));
}

TEST(Replayer, WhatTheKernelLogsIsCheckedAgainstWhatItWasFed) {
  TempDir d;
  RecordingBuilder b(d);
  b.rdtsc(0xffffffff81000010, 5);
  b.rdtsc(0xffffffff81000010, 6);
  auto dir = b.finish();
  kvmrr_value_record same{}, other{};
  same.hdr = {KVMRR_REC_RDTSC, sizeof same, 0, 0xffffffff81000010};
  same.value = 5;
  other = same;
  other.value = 7;
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    uint64_t v;
    ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Continue);
    ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Continue);
    auto ring = ring_of({{&same, sizeof same}});
    EXPECT_EQ(r.guest_records(ring.data(), ring.size()), Step::Continue) << r.session().report();
  }
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    uint64_t v;
    ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Continue);
    ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Continue);
    auto ring = ring_of({{&same, sizeof same}, {&other, sizeof other}});
    EXPECT_EQ(r.guest_records(ring.data(), ring.size()), Step::Stop);
    EXPECT_TRUE(diverged_saying(r, "value=0x7; it was fed rdtsc"));
  }
}

TEST(Replayer, AnEntryPerformedInAnotherTaskDiverges) {
  TempDir d;
  RecordingBuilder b(d);
  b.syscall(0x401000, 60, 39);  // exit_group, made by pid 39
  auto dir = b.finish();
  Replayer r(dir, KVMRR_FAKE_VMLINUX);
  UserEntry entry;
  ASSERT_EQ(r.user_entry(0, &entry), Step::Continue) << r.session().report();
  // The replayed kernel returned to user mode in pid 40 and logs the entry there.
  kvmrr_entry_record logged{};
  logged.hdr = {KVMRR_REC_SYSCALL, sizeof logged, 0, 0x401000};
  logged.vector = 60;
  logged.task = 40;
  logged.regs[16] = 0x401000;
  auto ring = ring_of({{&logged, sizeof logged}});
  EXPECT_EQ(r.guest_records(ring.data(), ring.size()), Step::Stop);
  const std::string& what = r.session().divergence()->what;
  EXPECT_NE(what.find("nr=0x3c pid=40 data=168B; it was fed syscall vcpu=0 rip=0x401000 nr=0x3c pid=39"),
            std::string::npos)
      << what;
}

TEST(Replayer, AnEntryUnderWayAtTheSnapshotIsTakenWhenTheKernelLogsIt) {
  TempDir d;
  RecordingBuilder b(d);
  b.dma(0, DmaTiming::AtSyncPoint, 0x1000, "ab");
  b.syscall(0x401000, 39);
  b.syscall(0x401010, 40);
  Replayer r(b.finish(), KVMRR_FAKE_VMLINUX);
  Memory m;
  // The vCPU starts in kernel mode: the first entry is logged without replay performing it.
  ASSERT_EQ(r.entry_logged(0, 0, m.writer()), Step::Continue) << r.session().report();
  EXPECT_EQ(m.writes[0x1000], "ab");
  // The next one replay performs, and its logging is then not another entry.
  UserEntry e{};
  ASSERT_EQ(r.user_entry(0, &e), Step::Continue) << r.session().report();
  EXPECT_EQ(e.kind, UserEntry::Kind::Syscall);
  EXPECT_EQ(e.vector, 40u);
  EXPECT_EQ(e.regs[16], 0x401010u);
  ASSERT_EQ(r.entry_logged(0, 0, m.writer()), Step::Continue);
  EXPECT_EQ(r.session().consumed(), 3u);
}

TEST(Replayer, FinishWritesTheVerdict) {
  TempDir d;
  RecordingBuilder b(d);
  b.rdtsc(0xffffffff81000010, 5);
  auto dir = b.finish();
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    uint64_t v;
    ASSERT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Continue);
    EXPECT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000010, &v), Step::Stop);  // the log is exhausted
    EXPECT_EQ(r.finish(), 0);
    auto j = nlohmann::json::parse(std::ifstream(dir / "replay.json"));
    EXPECT_EQ(j["result"], "ok");
    EXPECT_EQ(j["events_replayed"], 1);
  }
  {
    Replayer r(dir, KVMRR_FAKE_VMLINUX);
    uint64_t v;
    EXPECT_EQ(r.tsc(0, regs_at(0), 0xffffffff81000099, &v), Step::Stop);
    EXPECT_EQ(r.finish(), 1);
    auto j = nlohmann::json::parse(std::ifstream(dir / "replay.json"));
    EXPECT_EQ(j["result"], "diverged");
    EXPECT_EQ(j["divergence"]["event_index"], 0);
  }
}

TEST(Replayer, AnotherKernelIsRefused) {
  TempDir d;
  RecordingBuilder b(d);
  auto dir = b.finish();
  EXPECT_THROW(Replayer(dir, "/proc/self/exe"), RecordingError);
}

}  // namespace
}  // namespace kvmrr
