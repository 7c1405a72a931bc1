#include "kvmrr/recording.h"
#include "kvmrr/replay_verdict.h"

#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

RecordingMeta sample_meta() {
  RecordingMeta m;
  m.kvmrr_version = "kvm-rr test";
  m.qemu_version = "1:7.2+dfsg-7+deb12u18";
  m.qemu_patches = {"a.patch", "b.patch"};
  m.kernel_version = "6.1.0";
  m.vmlinux_build_id = "0123456789abcdef0123456789abcdef01234567";
  m.command_line = {"qemu-system-x86_64", "-m", "1024"};
  m.guest_command = "true";
  m.accel = "tcg";
  m.cpu_model = "qemu64";
  m.smp = 2;
  m.memory_mb = 1024;
  m.created = "2026-11-21T00:00:00Z";
  m.machine = "pc-i440fx-5.1";
  m.guest_ring_gpa = 0x1b61000;
  m.cpuid = {{0, 0, 0xd, 1, 2, 3}, {7, 1, 4, 5, 6, 7}};
  m.pmem = PmemRegion{0x38000000, 128 << 20};
  m.state = "complete";
  m.events = 50;
  m.ended = "2026-11-21T00:00:01Z";
  RecordCounters c;
  c.host_seconds = 2.5;
  c.syscalls = 40;
  c.exceptions = 6;
  c.user_interrupts = 3;
  c.interrupts = 9;
  c.timer_interrupts = 7;
  c.exits = {{"hlt", 2}, {"io_kvmrr", 11}};
  c.bql_handoffs = 5;
  m.counters = c;
  m.memory_digests = MemoryDigestSummary{"checkpoints", 4, 0.25, 12000, "taken", 1, 30000};
  m.extra["future_field"] = 7;
  return m;
}

std::filesystem::path make_recording(const TempDir& dir) {
  auto p = dir.path() / "rec";
  Recording r = Recording::create(p, sample_meta());
  std::ofstream(r.snapshot_path()) << "snapshot";
  auto w = r.create_events();
  for (const Event& e : testing::sample_events(50)) w->append(e);
  w->close();
  return p;
}

void write_text(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::trunc) << s; }

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs Recording::open and returns the error it raised.
RecordingError open_error(const std::filesystem::path& p) {
  try {
    Recording::open(p);
  } catch (const RecordingError& e) {
    return e;
  }
  ADD_FAILURE() << "Recording::open(" << p << ") succeeded";
  return RecordingError(RecordingError::Kind::Io, p, "none");
}

TEST(Recording, MetaRoundTrip) {
  TempDir dir;
  auto p = make_recording(dir);
  Recording r = Recording::open(p);
  EXPECT_EQ(r.meta().to_json(), sample_meta().to_json());
  EXPECT_EQ(r.meta().smp, 2u);
  EXPECT_EQ(r.meta().extra["future_field"], 7);
  EXPECT_EQ(r.meta().extra.size(), 1u) << "typed fields stay out of extra: " << r.meta().extra.dump();
  EXPECT_EQ(r.meta().guest_ring_gpa, 0x1b61000u);
  EXPECT_EQ(r.meta().cpuid, sample_meta().cpuid);
  EXPECT_EQ(r.meta().events, std::optional<uint64_t>(50));
  EXPECT_EQ(r.meta().state, "complete");
  EXPECT_EQ(r.meta().pmem, sample_meta().pmem);
  EXPECT_EQ(r.meta().counters, sample_meta().counters);
  EXPECT_EQ(r.meta().counters->kernel_entries(), 49u);
  EXPECT_EQ(r.meta().counters->total_exits(), 13u);
  auto reader = r.open_events();
  Event e;
  size_t n = 0;
  while (reader->next(e)) n++;
  EXPECT_EQ(n, 50u);
  EXPECT_TRUE(reader->end().complete);
}

TEST(Recording, MachineDifferencesNameTheOptionToGive) {
  RecordingMeta m = sample_meta();
  EXPECT_EQ(machine_differences(m, "pc-i440fx-5.1", 1024, 2), "");
  EXPECT_EQ(machine_differences(m, "q35", 512, 1),
            "machine type pc-i440fx-5.1 (-machine pc-i440fx-5.1), not q35; 1024 MiB of RAM (-m 1024), not 512; "
            "2 vCPUs (-smp 2), not 1");
}

TEST(Recording, BadCountersAreNamed) {
  TempDir dir;
  auto p = make_recording(dir);
  auto j = sample_meta().to_json();
  j["counters"]["exits"]["kick"] = -1;
  write_text(p / "meta.json", j.dump());
  RecordingError e = open_error(p);
  EXPECT_NE(e.detail().find("counters.exits.kick"), std::string::npos) << e.what();
  j = sample_meta().to_json();
  j["counters"].erase("syscalls");
  write_text(p / "meta.json", j.dump());
  e = open_error(p);
  EXPECT_NE(e.detail().find("counters.syscalls"), std::string::npos) << e.what();
}

TEST(Recording, CreateRefusesANonEmptyDirectory) {
  TempDir dir;
  auto p = make_recording(dir);
  EXPECT_THROW(Recording::create(p, sample_meta()), RecordingError);
}

TEST(Recording, InvalidJsonNamesMetaJsonAndOffset) {
  TempDir dir;
  auto p = make_recording(dir);
  std::string text = read_text(p / "meta.json");
  write_text(p / "meta.json", text.substr(0, text.size() / 2));
  RecordingError e = open_error(p);
  EXPECT_EQ(e.kind(), RecordingError::Kind::Corrupt);
  EXPECT_EQ(e.file(), p / "meta.json");
  EXPECT_TRUE(e.offset().has_value());
  EXPECT_NE(std::string(e.what()).find("meta.json"), std::string::npos);
}

TEST(Recording, WrongFieldTypesAndMissingFieldsAreNamed) {
  TempDir dir;
  auto p = make_recording(dir);
  auto j = sample_meta().to_json();
  j["smp"] = "two";
  write_text(p / "meta.json", j.dump());
  RecordingError e = open_error(p);
  EXPECT_NE(e.detail().find("\"smp\""), std::string::npos) << e.what();

  j = sample_meta().to_json();
  j["qemu"].erase("version");
  write_text(p / "meta.json", j.dump());
  e = open_error(p);
  EXPECT_NE(e.detail().find("qemu.version"), std::string::npos) << e.what();

  write_text(p / "meta.json", "[1, 2]");
  e = open_error(p);
  EXPECT_EQ(e.file(), p / "meta.json");
}

TEST(Recording, ForeignFormatVersionIsRefusedAsSuch) {
  TempDir dir;
  auto p = make_recording(dir);
  nlohmann::json j = {{"format_version", kFormatVersion + 1}, {"something_new", true}};
  write_text(p / "meta.json", j.dump());
  RecordingError e = open_error(p);
  EXPECT_EQ(e.kind(), RecordingError::Kind::Version);
  EXPECT_EQ(e.file(), p / "meta.json");
}

TEST(Recording, MissingPiecesAreNamed) {
  TempDir dir;
  auto p = make_recording(dir);
  std::filesystem::remove(p / "snapshot");
  EXPECT_EQ(open_error(p).file(), p / "snapshot");
  std::filesystem::remove(p / "meta.json");
  EXPECT_EQ(open_error(p).file(), p / "meta.json");
  EXPECT_EQ(open_error(dir.path() / "nope").kind(), RecordingError::Kind::Io);
}

TEST(Recording, ACorruptCpuidTableIsNamed) {
  TempDir dir;
  auto p = make_recording(dir);
  std::string text = read_text(p / "meta.json");
  auto at = text.find("\"entries\"");
  ASSERT_NE(at, std::string::npos);
  text.insert(text.find('[', at) + 1, "[1, 2], ");
  write_text(p / "meta.json", text);
  EXPECT_NE(std::string(open_error(p).what()).find("cpuid.entries"), std::string::npos) << open_error(p).what();
}

TEST(ReplayVerdict, RoundTripAndAbsence) {
  TempDir dir;
  EXPECT_FALSE(ReplayVerdict::read(dir.path()).has_value());
  ReplayVerdict v;
  v.result = ReplayVerdict::Result::Diverged;
  v.recording = "/r";
  v.events_replayed = 12;
  v.events_total = 40;
  v.divergence = ReplayVerdict::Divergence{11, 1, "rip differs", "DIVERGED at event 11"};
  v.write(dir.path());
  auto back = ReplayVerdict::read(dir.path());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->result, ReplayVerdict::Result::Diverged);
  EXPECT_EQ(back->events_total, 40u);
  ASSERT_TRUE(back->divergence.has_value());
  EXPECT_EQ(back->divergence->event_index, 11u);
  EXPECT_EQ(back->divergence->vcpu, 1u);
  EXPECT_EQ(back->divergence->report, "DIVERGED at event 11");
  write_text(dir.path() / ReplayVerdict::kFile, "{\"result\": \"maybe\"}");
  EXPECT_FALSE(ReplayVerdict::read(dir.path()).has_value()) << "an unknown result is no verdict";
}

}  // namespace
}  // namespace kvmrr
