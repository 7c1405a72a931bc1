#include "kvmrr/recorder.h"

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "kvmrr/guest-abi.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

RecordSetup info_for(const std::string& dir) {
  RecordSetup i;
  i.dir = dir;
  i.qemu_version = "7.2.test";
  i.accel = "tcg";
  i.cpu_model = "qemu64";
  i.machine = "pc-i440fx-5.1";
  i.smp = 1;
  i.memory_mb = 1024;
  i.cpuid = {{0, 0, 13, 1, 2, 3}, {1, 0, 4, 5, 6, 7}};
  i.guest_ring_gpa = 0x1000;
  return i;
}

std::vector<uint8_t> entry_record(uint16_t type, uint64_t rip, uint64_t vector) {
  kvmrr_entry_record r{};
  r.hdr.type = type;
  r.hdr.size = sizeof r;
  r.hdr.rip = rip;
  r.vector = vector;
  r.error_code = 6;
  r.cr2 = 0x7fff0000;
  for (int i = 0; i < KVMRR_USER_REGS; i++) r.regs[i] = 100 + i;
  std::vector<uint8_t> out(sizeof r);
  memcpy(out.data(), &r, sizeof r);
  return out;
}

// A ring holding a syscall entry (nr 1, user RIP 0x401000) and a page fault (0x402000).
std::vector<uint8_t> syscall_then_page_fault() {
  auto ring = entry_record(KVMRR_REC_SYSCALL, 0x401000, 1);
  auto pf = entry_record(KVMRR_REC_EXCEPTION, 0x402000, 14);
  ring.insert(ring.end(), pf.begin(), pf.end());
  return ring;
}

std::vector<Event> read_events(const Recording& rec) {
  auto reader = rec.open_events();
  std::vector<Event> out;
  Event e;
  while (reader->next(e)) out.push_back(e);
  return out;
}

TEST(Recorder, GuestRecordsAndQemuEventsInterleaveInCallOrder) {
  TempDir d;
  std::string dir = (d.path() / "rec").string();
  Recorder r(info_for(dir));
  std::ofstream(r.snapshot_path()) << "s";
  auto ring = syscall_then_page_fault();
  r.log_guest_records(ring.data(), ring.size());
  Regs regs{};
  regs.rip = 0xffffffff81000010;
  r.log_io_in(0, regs, 0x3f8, 1, 0x41);
  r.finish();

  Recording rec = Recording::open(dir);
  EXPECT_EQ(rec.meta().state, "complete");
  EXPECT_EQ(rec.meta().machine, "pc-i440fx-5.1");
  EXPECT_EQ(rec.meta().guest_ring_gpa, 0x1000u);
  ASSERT_EQ(rec.meta().cpuid.size(), 2u);
  EXPECT_EQ(rec.meta().cpuid[1], (CpuidEntry{1, 0, 4, 5, 6, 7}));
  EXPECT_TRUE(rec.meta().extra.empty()) << rec.meta().extra.dump();
  auto ev = read_events(rec);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, EventType::Syscall);
  EXPECT_EQ(ev[0].rip, 0x401000u);
  EXPECT_EQ(ev[0].args[0], 1u);
  ASSERT_EQ(ev[0].data.size(), 168u);
  uint64_t first_reg;
  memcpy(&first_reg, ev[0].data.data(), 8);
  EXPECT_EQ(first_reg, 100u);
  EXPECT_EQ(ev[1].type, EventType::Exception);
  EXPECT_EQ(ev[1].arg_span()[1], 6u);
  EXPECT_EQ(ev[1].arg_span()[2], 0x7fff0000u);
  EXPECT_EQ(ev[2].type, EventType::IoIn);
  EXPECT_EQ(ev[2].digest, register_digest(regs));
}

TEST(Recorder, NamesTheKernelByWhatGuestMemoryHolds) {
  TempDir d;
  std::string dir = (d.path() / "rec").string();
  Recorder r(info_for(dir));  // no vmlinux named, as from the monitor
  std::ofstream(r.snapshot_path()) << "s";
  std::vector<uint8_t> ram(24 << 20);
  uint32_t hdr[3] = {4, 20, 3};
  memcpy(ram.data() + (17 << 20), hdr, sizeof hdr);
  memcpy(ram.data() + (17 << 20) + 12, "GNU", 4);
  for (int i = 0; i < 20; i++) ram[(17 << 20) + 16 + i] = static_cast<uint8_t>(0xab);
  const char banner[] = "Linux version 6.1.0-test";
  memcpy(ram.data() + (18 << 20), banner, sizeof banner);
  auto read = [&](uint64_t gpa, void* buf, size_t len) {
    if (gpa + len > ram.size()) return false;
    memcpy(buf, ram.data() + gpa, len);
    return true;
  };
  EXPECT_EQ(r.identify_kernel(read, ram.size()), "");
  r.finish();
  RecordingMeta m = Recording::open(dir).meta();
  std::string ab;
  for (int i = 0; i < 20; i++) ab += "ab";
  EXPECT_EQ(m.vmlinux_build_id, ab);
  EXPECT_EQ(m.kernel_version, "Linux version 6.1.0-test");
}

TEST(Recorder, CountsKernelEntriesInterruptsAndQemusExits) {
  TempDir d;
  std::string dir = (d.path() / "rec").string();
  Recorder r(info_for(dir));
  std::ofstream(r.snapshot_path()) << "s";
  auto ring = syscall_then_page_fault();
  r.log_guest_records(ring.data(), ring.size());
  Regs regs{};
  r.log_interrupt(0, regs, kTimerVector, 3);
  r.log_interrupt(0, regs, 0x21, 4);
  r.set_qemu_counts({{"io_kvmrr", 4}, {"kick", 1}}, 2, 0);
  r.finish();

  auto c = Recording::open(dir).meta().counters;
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->syscalls, 1u);
  EXPECT_EQ(c->exceptions, 1u);
  EXPECT_EQ(c->interrupts, 2u);
  EXPECT_EQ(c->user_interrupts, 0u) << "both interrupts came in kernel mode";
  EXPECT_EQ(c->timer_interrupts, 1u);
  EXPECT_EQ(c->kernel_entries(), 2u);
  EXPECT_EQ(c->total_exits(), 5u);
  EXPECT_EQ(c->bql_handoffs, 2u);
  EXPECT_GT(c->host_seconds, 0.0);
}

TEST(Recorder, MalformedGuestRecordsFailTheRecording) {
  TempDir d;
  std::string dir = (d.path() / "rec").string();
  Recorder r(info_for(dir));
  std::ofstream(r.snapshot_path()) << "s";
  auto good = entry_record(KVMRR_REC_SYSCALL, 0x401000, 1);
  r.log_guest_records(good.data(), good.size());
  auto bad = entry_record(KVMRR_REC_SYSCALL, 0x401000, 1);
  bad[2] = 12;  // size 12: not a multiple of 8
  bad[3] = 0;
  EXPECT_THROW(r.log_guest_records(bad.data(), bad.size()), RecordingError);
  r.fail("malformed guest records");
  auto unknown = entry_record(99, 0, 0);
  EXPECT_THROW(r.log_guest_records(unknown.data(), unknown.size()), RecordingError);
  EXPECT_THROW(r.finish(), RecordingError);

  Recording rec = Recording::open(dir);
  EXPECT_EQ(rec.meta().state, "failed");
  auto reader = rec.open_events();
  Event e;
  size_t n = 0;
  while (reader->next(e)) n++;
  EXPECT_EQ(n, 1u);
  EXPECT_FALSE(reader->end().complete) << "a failed recording must not look whole";
}

TEST(Recorder, UserReadRecordsCarryAddressAndBytes) {
  TempDir d;
  std::string dir = (d.path() / "rec").string();
  Recorder r(info_for(dir));
  std::ofstream(r.snapshot_path()) << "s";
  const char text[] = "/etc/passwd";  // 12 bytes with the NUL: padded to 16
  std::vector<uint8_t> ring(sizeof(kvmrr_user_record) + 16, 0);
  kvmrr_user_record u{};
  u.hdr.type = KVMRR_REC_CFU;
  u.hdr.size = uint16_t(ring.size());
  u.hdr.rip = 0xffffffff81123456;
  u.uaddr = 0x7ffc0000;
  u.len = sizeof text;
  u.kind = KVMRR_UREAD_STRING;
  memcpy(ring.data(), &u, sizeof u);
  memcpy(ring.data() + sizeof u, text, sizeof text);
  r.log_guest_records(ring.data(), ring.size());
  // A length beyond its record is corruption.
  u.len = 17;
  memcpy(ring.data(), &u, sizeof u);
  EXPECT_THROW(r.log_guest_records(ring.data(), ring.size()), RecordingError);
  r.finish();
  auto ev = read_events(Recording::open(dir));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, EventType::Cfu);
  EXPECT_EQ(ev[0].arg_span()[0], 0x7ffc0000u);
  EXPECT_EQ(ev[0].arg_span()[2], uint64_t(KVMRR_UREAD_STRING));
  EXPECT_EQ(std::string(ev[0].data.begin(), ev[0].data.end() - 1), "/etc/passwd");
}

TEST(Recorder, RegisterDigestCoversEveryField) {
  Regs a{};
  uint64_t base = register_digest(a);
  for (int i = 0; i < 16; i++) {
    Regs b{};
    b.gpr[i] = 1;
    EXPECT_NE(register_digest(b), base) << "gpr " << i;
  }
  Regs c{};
  c.rflags = 2;
  EXPECT_NE(register_digest(c), base);
  Regs e{};
  e.cpl = 3;
  EXPECT_NE(register_digest(e), base);
}

}  // namespace
}  // namespace kvmrr
