#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "command.h"
#include "kvmrr/guest-abi.h"
#include "kvmrr/recorder.h"
#include "kvmrr/recording.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

struct Output {
  int status;
  std::string out, err;
};

Output dump(std::vector<std::string> args) {
  std::ostringstream out, err;
  int status = Command::find("dump")->run(args, out, err);
  return {status, out.str(), err.str()};
}

RecordingMeta meta() {
  RecordingMeta m;
  m.kvmrr_version = "test";
  m.qemu_version = "q";
  m.kernel_version = "k";
  m.accel = "tcg";
  m.cpu_model = "qemu64";
  m.memory_mb = 1024;
  m.created = "now";
  return m;
}

// A recording with a known number of each event type; dma events carry 100 bytes each.
std::filesystem::path make(const TempDir& d, bool close = true, size_t frame_bytes = 256) {
  auto p = d.path() / "rec";
  Recording r = Recording::create(p, meta());
  std::ofstream(r.snapshot_path()) << "x";
  auto w = r.create_events(frame_bytes);
  for (int i = 0; i < 3; i++) {
    Event sys;
    sys.type = EventType::Syscall;
    sys.push_arg(39);
    w->append(sys);
  }
  Event dma;
  dma.type = EventType::Dma;
  dma.push_arg(0x1000);
  dma.push_arg(100);
  dma.data.assign(100, 7);
  w->append(dma);
  w->append(dma);
  Event tsc;
  tsc.type = EventType::Rdtsc;
  tsc.rip = 0xffffffff81001234;
  tsc.push_arg(123456);
  w->append(tsc);
  if (close) w->close();
  return p;
}

TEST(DumpCommand, CountsEveryTypeAndDmaBytes) {
  TempDir d;
  Output o = dump({make(d).string()});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("syscall: 3\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("dma: 2\n"), std::string::npos);
  EXPECT_NE(o.out.find("rdtsc: 1\n"), std::string::npos);
  EXPECT_NE(o.out.find("yield_window: 0\n"), std::string::npos);
  EXPECT_NE(o.out.find("dma_bytes: 200\n"), std::string::npos);
  EXPECT_NE(o.out.find("events: 6\n"), std::string::npos);
  EXPECT_NE(o.out.find("status: complete\n"), std::string::npos);
  // The stream on disk and its events before compression: the 200 bytes of DMA data alone
  // are in the raw size.
  std::error_code ec;
  auto stream = std::filesystem::file_size(Recording::open(d.path() / "rec").events_path(), ec);
  EXPECT_NE(o.out.find("stream_bytes: " + std::to_string(stream) + "\n"), std::string::npos) << o.out;
  size_t raw = o.out.find("raw_bytes: ");
  ASSERT_NE(raw, std::string::npos);
  EXPECT_GT(std::stoull(o.out.substr(raw + 11)), 200u);
  for (const EventTypeInfo& t : all_event_types()) {
    EXPECT_NE(o.out.find(std::string(t.name) + ": "), std::string::npos) << t.name;
  }
}

TEST(DumpCommand, ListsEvents) {
  TempDir d;
  Output o = dump({"--events", make(d).string()});
  EXPECT_EQ(o.status, 0);
  EXPECT_NE(o.out.find("#0 syscall vcpu=0 rip=0x0 nr=0x27\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("#5 rdtsc vcpu=0 rip=0xffffffff81001234 value=0x1e240\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("data=100B"), std::string::npos);
}

// --data: what a futex_wait call and its word looked like, the state a deschedule checked,
// and device bytes, cut at 64.
TEST(DumpCommand, DataShowsRegistersAndBytes) {
  TempDir d;
  auto p = d.path() / "rec";
  Recording r = Recording::create(p, meta());
  std::ofstream(r.snapshot_path()) << "x";
  auto w = r.create_events();
  Event sys;
  sys.type = EventType::Syscall;
  sys.push_arg(0xca);
  uint64_t pt[KVMRR_USER_REGS] = {};
  pt[14] = 0x39152710;  // rdi
  pt[13] = 0x80;        // rsi
  pt[16] = 0x43d469;    // rip
  sys.data.assign(reinterpret_cast<uint8_t*>(pt), reinterpret_cast<uint8_t*>(pt) + sizeof pt);
  w->append(sys);
  Event gfu;
  gfu.type = EventType::Gfu;
  gfu.push_arg(0x39152710);
  gfu.push_arg(4);
  gfu.push_arg(KVMRR_UREAD_SCALAR);
  gfu.data = {1, 0, 0, 0};
  w->append(gfu);
  Event desched;
  desched.type = EventType::Deschedule;
  desched.digest = 0x1234;
  desched.push_arg(5);
  Regs regs{};
  regs.gpr[2] = 0x77;  // rdx
  regs.rip = 0xffffffff81000010;
  desched.data = pack_regs(regs);
  w->append(desched);
  Event dma;
  dma.type = EventType::Dma;
  dma.push_arg(0x1000);
  dma.push_arg(100);
  dma.data.assign(100, 0xab);
  w->append(dma);
  w->close();

  Output o = dump({"--events", "--data", p.string()});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("\n    r15=0x0 "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" rsi=0x80 rdi=0x39152710 orig_rax=0x0 rip=0x43d469 "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("kind=0x2 data=4B\n    01000000\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(" rdx=0x77 "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("rip=0xffffffff81000010 rflags=0x0 cpl=0\n"), std::string::npos) << o.out;
  std::string ab;
  for (int i = 0; i < 64; i++) ab += "ab";
  EXPECT_NE(o.out.find("\n    " + ab + " ... (36 more bytes)\n"), std::string::npos) << o.out;
  // Without --events there is nothing to attach the data to.
  EXPECT_EQ(dump({"--data", p.string()}).status, kExitUsage);
}

TEST(DumpCommand, CorruptMetaJsonIsNamedAndFails) {
  TempDir d;
  auto p = make(d);
  std::ofstream(p / "meta.json", std::ios::trunc) << "{\"format_version\": 1, oops";
  Output o = dump({p.string()});
  EXPECT_EQ(o.status, kExitBadRecording);
  EXPECT_NE(o.err.find("meta.json"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("offset"), std::string::npos) << o.err;
}

TEST(DumpCommand, IncompleteRecordingPrintsThePrefixAndFails) {
  TempDir d;
  auto p = make(d, /*close=*/false);
  Output o = dump({p.string()});
  EXPECT_EQ(o.status, kExitBadRecording);
  EXPECT_NE(o.out.find("syscall: 3\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("status: incomplete\n"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("incomplete recording"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("events"), std::string::npos) << o.err;
}

TEST(DumpCommand, TruncatedMidFrameNamesTheOffset) {
  TempDir d;
  auto p = make(d, true, /*frame_bytes=*/1);  // one event per frame
  auto bytes = testing::read_file(p / "events");
  bytes.resize(bytes.size() - 50);
  testing::write_file(p / "events", bytes);
  Output o = dump({p.string()});
  EXPECT_EQ(o.status, kExitBadRecording);
  EXPECT_NE(o.err.find("truncated frame at offset"), std::string::npos) << o.err;
}

TEST(DumpCommand, CorruptFrameReportsFileAndOffsetAfterThePrefix) {
  TempDir d;
  auto p = make(d, true, /*frame_bytes=*/1);
  auto bytes = testing::read_file(p / "events");
  bytes[bytes.size() - 45] ^= 0xff;  // inside the last event frame
  testing::write_file(p / "events", bytes);
  Output o = dump({p.string()});
  EXPECT_EQ(o.status, kExitBadRecording);
  EXPECT_NE(o.err.find((p / "events").string() + ": at offset"), std::string::npos) << o.err;
  EXPECT_NE(o.out.find("status: corrupt"), std::string::npos) << o.out;
}

TEST(DumpCommand, ForeignVersionIsNamed) {
  TempDir d;
  auto p = make(d);
  std::ofstream(p / "meta.json", std::ios::trunc) << "{\"format_version\": 99}";
  Output o = dump({p.string()});
  EXPECT_EQ(o.status, kExitBadRecording);
  EXPECT_NE(o.err.find("version 99"), std::string::npos) << o.err;
}

TEST(DumpCommand, Usage) {
  EXPECT_EQ(dump({}).status, kExitUsage);
  EXPECT_EQ(dump({"--bogus", "x"}).status, kExitUsage);
  EXPECT_EQ(dump({"/nonexistent/recording"}).status, kExitBadRecording);
}

}  // namespace
}  // namespace kvmrr
