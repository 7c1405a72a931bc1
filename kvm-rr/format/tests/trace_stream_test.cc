#include "kvmrr/trace_stream.h"

#include <cstring>

#include <zlib.h>

#include <gtest/gtest.h>

#include "kvmrr/error.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::read_file;
using testing::sample_events;
using testing::TempDir;
using testing::write_file;

struct ReadResult {
  std::vector<Event> events;
  StreamEnd end;
};

ReadResult read_all(const std::filesystem::path& p) {
  TraceReader r(p);
  ReadResult out;
  Event e;
  while (r.next(e)) out.events.push_back(e);
  out.end = r.end();
  return out;
}

// Offsets where each frame starts, found by writing the stream one frame at a time.
struct Written {
  std::vector<Event> events;
  std::vector<uint64_t> frame_starts;   // offset of each event frame
  std::vector<uint64_t> events_before;  // events in frames before frame i
  uint64_t end_frame = 0;               // offset of the END frame
};

Written write_stream(const std::filesystem::path& p, size_t n, size_t per_frame) {
  Written w;
  w.events = sample_events(n);
  TraceWriter tw(p, /*frame_bytes=*/SIZE_MAX);
  for (size_t i = 0; i < n; i++) {
    if (i % per_frame == 0) {
      tw.flush();
      w.frame_starts.push_back(tw.bytes_written());
      w.events_before.push_back(i);
    }
    tw.append(w.events[i]);
  }
  tw.flush();
  w.end_frame = tw.bytes_written();
  tw.close();
  return w;
}

TEST(TraceStream, RoundTripManyFrames) {
  TempDir dir;
  auto p = dir.path() / "events";
  auto events = sample_events(5000);
  {
    TraceWriter w(p, /*frame_bytes=*/4096);
    for (const Event& e : events) w.append(e);
    EXPECT_EQ(w.events_written(), events.size());
    w.close();
  }
  ReadResult r = read_all(p);
  EXPECT_TRUE(r.end.complete);
  EXPECT_GT(r.end.frames, 10u);
  EXPECT_EQ(r.end.events, events.size());
  ASSERT_EQ(r.events.size(), events.size());
  for (size_t i = 0; i < events.size(); i++) ASSERT_EQ(r.events[i], events[i]) << "event " << i;
}

TEST(TraceStream, EmptyClosedStreamIsComplete) {
  TempDir dir;
  auto p = dir.path() / "events";
  TraceWriter(p).close();
  ReadResult r = read_all(p);
  EXPECT_TRUE(r.end.complete);
  EXPECT_EQ(r.events.size(), 0u);
}

TEST(TraceStream, WriterDestroyedWithoutCloseLeavesReadableIncompleteStream) {
  TempDir dir;
  auto p = dir.path() / "events";
  auto events = sample_events(300);
  {
    TraceWriter w(p, 1024);
    for (const Event& e : events) w.append(e);
  }
  ReadResult r = read_all(p);
  EXPECT_FALSE(r.end.complete);
  EXPECT_EQ(r.events.size(), events.size());  // the destructor sealed the last frame
  EXPECT_NE(r.end.reason.find("without an END frame"), std::string::npos) << r.end.reason;
}

TEST(TraceStream, TruncationAtEveryFrameBoundaryKeepsThePrefix) {
  TempDir dir;
  auto p = dir.path() / "events";
  Written w = write_stream(p, 400, 37);
  auto bytes = read_file(p);
  auto cut = dir.path() / "cut";
  for (size_t f = 0; f < w.frame_starts.size(); f++) {
    write_file(cut, {bytes.begin(), bytes.begin() + long(w.frame_starts[f])});
    ReadResult r = read_all(cut);
    EXPECT_FALSE(r.end.complete) << "frame " << f;
    ASSERT_EQ(r.events.size(), w.events_before[f]) << "frame " << f;
    for (size_t i = 0; i < r.events.size(); i++) ASSERT_EQ(r.events[i], w.events[i]);
    EXPECT_EQ(r.end.valid_bytes, w.frame_starts[f]);
  }
  // Cut just before the END frame: every event, but not complete.
  write_file(cut, {bytes.begin(), bytes.begin() + long(w.end_frame)});
  ReadResult r = read_all(cut);
  EXPECT_FALSE(r.end.complete);
  EXPECT_EQ(r.events.size(), w.events.size());
}

TEST(TraceStream, TruncationInsideEveryFrameKeepsEarlierFrames) {
  TempDir dir;
  auto p = dir.path() / "events";
  Written w = write_stream(p, 120, 13);
  auto bytes = read_file(p);
  auto cut = dir.path() / "cut";
  std::vector<uint64_t> starts = w.frame_starts;
  starts.push_back(w.end_frame);
  for (size_t f = 0; f + 1 < starts.size(); f++) {
    // Every byte length strictly inside frame f (header and payload).
    for (uint64_t len = starts[f] + 1; len < starts[f + 1]; len++) {
      write_file(cut, {bytes.begin(), bytes.begin() + long(len)});
      ReadResult r = read_all(cut);
      ASSERT_FALSE(r.end.complete);
      ASSERT_EQ(r.events.size(), w.events_before[f]) << "cut at " << len;
      ASSERT_NE(r.end.reason.find("truncated frame"), std::string::npos) << r.end.reason;
      ASSERT_NE(r.end.reason.find(std::to_string(starts[f])), std::string::npos) << r.end.reason;
    }
  }
}

TEST(TraceStream, TruncatedStreamHeaderIsAnError) {
  TempDir dir;
  auto p = dir.path() / "events";
  TraceWriter(p).close();
  auto bytes = read_file(p);
  for (size_t len = 0; len < kStreamHeaderSize; len++) {
    write_file(p, {bytes.begin(), bytes.begin() + long(len)});
    try {
      TraceReader r(p);
      FAIL() << "no error at length " << len;
    } catch (const RecordingError& e) {
      EXPECT_EQ(e.kind(), RecordingError::Kind::Truncated);
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos);
    }
  }
}

TEST(TraceStream, CorruptionInAnyFrameIsDetectedAfterThePrefix) {
  TempDir dir;
  auto p = dir.path() / "events";
  Written w = write_stream(p, 200, 25);
  auto bytes = read_file(p);
  auto bad = dir.path() / "bad";
  std::vector<uint64_t> starts = w.frame_starts;
  starts.push_back(w.end_frame);
  for (size_t f = 0; f + 1 < starts.size(); f++) {
    // One flipped bit at several places of the frame: header fields and payload.
    for (uint64_t at : {starts[f], starts[f] + 9, starts[f] + 20, starts[f] + kFrameHeaderSize,
                        (starts[f] + starts[f + 1]) / 2, starts[f + 1] - 1}) {
      auto copy = bytes;
      copy[at] ^= 0x10;
      write_file(bad, copy);
      TraceReader r(bad);
      Event e;
      size_t got = 0;
      try {
        while (r.next(e)) got++;
        FAIL() << "no error for a flipped bit at " << at;
      } catch (const RecordingError& err) {
        EXPECT_EQ(err.kind(), RecordingError::Kind::Corrupt) << err.what();
        ASSERT_TRUE(err.offset().has_value());
        EXPECT_EQ(*err.offset(), starts[f]) << err.what();
        EXPECT_NE(std::string(err.what()).find(bad.string()), std::string::npos);
      }
      EXPECT_EQ(got, w.events_before[f]) << "flip at " << at;
    }
  }
}

TEST(TraceStream, GarbageAfterEndIsCorruption) {
  TempDir dir;
  auto p = dir.path() / "events";
  write_stream(p, 10, 5);
  auto bytes = read_file(p);
  bytes.push_back(0);
  write_file(p, bytes);
  TraceReader r(p);
  Event e;
  EXPECT_THROW(
      {
        while (r.next(e)) {}
      },
      RecordingError);
}

TEST(TraceStream, ForeignVersionIsRefused) {
  TempDir dir;
  auto p = dir.path() / "events";
  write_stream(p, 10, 5);
  auto bytes = read_file(p);
  bytes[8] = uint8_t(kFormatVersion + 1);
  // Keep the header checksum valid so the version, not corruption, is what is reported.
  uint32_t c = uint32_t(crc32(0, bytes.data(), 28));
  for (int i = 0; i < 4; i++) bytes[28 + i] = uint8_t(c >> (8 * i));
  write_file(p, bytes);
  try {
    TraceReader r(p);
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Version);
    EXPECT_NE(std::string(e.what()).find("version " + std::to_string(kFormatVersion + 1)), std::string::npos)
        << e.what();
  }
}

TEST(TraceStream, NotAStream) {
  TempDir dir;
  auto p = dir.path() / "events";
  write_file(p, std::vector<uint8_t>(100, 'x'));
  EXPECT_THROW(TraceReader r(p), RecordingError);
}

TEST(TraceStream, FullDiskIsAnIoErrorAndEarlierFramesSurvive) {
  ASSERT_TRUE(std::filesystem::exists("/dev/full")) << "this test needs /dev/full";
  try {
    TraceWriter w("/dev/full");
    FAIL() << "writing the header to /dev/full succeeded";
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Io);
    EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kvmrr
