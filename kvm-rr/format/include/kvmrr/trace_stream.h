#pragma once
// The framed event stream of a recording.
//
// A stream file is a header followed by frames. Each frame holds a zstd-compressed batch of
// events and a header with sizes and CRC32s, and is written with one write(2), so a recorder
// killed at any moment leaves every earlier frame intact and readable. A final END frame
// (no payload, the total event count) marks a stream that was closed properly; without it
// the stream is incomplete and the reader says where it stops.
//
//   file header (32 bytes): "KVMRREVT" u32 format_version u32 header_size u64 0 u32 0 u32 crc
//   frame header (36 bytes): u32 magic "FRM1" u32 kind(1=events, 2=end) u64 first_event
//                            u32 event_count u32 raw_size u32 compressed_size
//                            u32 payload_crc u32 header_crc
//   payload: zstd(events), each: u8 type, varint vcpu, u64 rip, u64 digest, u8 nargs,
//            nargs varints, varint data_size, data bytes          (integers little-endian)
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kvmrr/event.h"
#include "kvmrr/format.h"

namespace kvmrr {

inline constexpr size_t kStreamHeaderSize = 32;
inline constexpr size_t kFrameHeaderSize = 36;

class TraceWriter {
 public:
  static constexpr size_t kDefaultFrameBytes = 64 * 1024;

  // Creates (truncates) path and writes the stream header. Throws RecordingError.
  explicit TraceWriter(std::filesystem::path path, size_t frame_bytes = kDefaultFrameBytes);
  // Seals buffered events into a frame but writes no END frame: a writer destroyed without
  // close() leaves an incomplete stream, which is the truth.
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void append(const Event& e);
  // Seals buffered events into a frame now (e.g. before a snapshot or at a time tick).
  void flush();
  // flush(), END frame, fsync. Further appends throw.
  void close();

  uint64_t events_written() const { return next_index_ + pending_count_; }
  uint64_t bytes_written() const { return offset_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_all(const void* data, size_t size);
  void write_frame(uint32_t kind, const std::vector<uint8_t>& payload, uint32_t raw_size, uint32_t count);

  std::filesystem::path path_;
  int fd_ = -1;
  size_t frame_bytes_;
  uint64_t offset_ = 0;
  uint64_t next_index_ = 0;  // index of the first event in pending_
  uint32_t pending_count_ = 0;
  std::vector<uint8_t> pending_;
  bool closed_ = false;
  void* cctx_ = nullptr;  // ZSTD_CCtx*, reused across frames
};

// How a stream ended, once the reader has reached its end.
struct StreamEnd {
  bool complete = false;     // END frame seen and its count matched
  uint64_t events = 0;       // events read
  uint64_t frames = 0;       // event frames read
  uint64_t raw_bytes = 0;    // their events before compression
  uint64_t valid_bytes = 0;  // offset just past the last good frame
  uint64_t file_bytes = 0;
  std::string reason;  // why incomplete: "no END frame", "truncated frame at ..."
};

class TraceReader {
 public:
  // Opens path and checks the stream header. Throws RecordingError (Io, Corrupt, Version,
  // Truncated when even the header is incomplete).
  explicit TraceReader(std::filesystem::path path);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  // The next event, or false at the end of what can be read. An incomplete stream (killed
  // writer) ends normally with end().complete == false; corruption throws RecordingError
  // after every event before it has been returned.
  bool next(Event& out);
  // Index of the event next() returned last.
  uint64_t index() const { return returned_ - 1; }
  // Valid once next() has returned false.
  const StreamEnd& end() const { return end_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void open_checked();
  bool load_frame();
  [[noreturn]] void corrupt(uint64_t offset, const std::string& what) const;

  // Reads exactly size bytes at offset; false if the file ends first.
  bool read_at(uint64_t offset, void* out, size_t size) const;

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t offset_ = 0;
  std::vector<uint8_t> compressed_;
  std::vector<uint8_t> frame_;  // decompressed events of the current frame
  size_t frame_pos_ = 0;
  uint64_t frame_offset_ = 0;
  uint32_t frame_left_ = 0;
  uint64_t returned_ = 0;
  bool done_ = false;
  StreamEnd end_;
  void* dctx_ = nullptr;
};

}  // namespace kvmrr
