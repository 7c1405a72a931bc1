#include "kvmrr/branch_log.h"

#include <cstring>

#include <fmt/format.h>
#include <zstd.h>

#include "kvmrr/error.h"

namespace kvmrr::branches {
namespace {

// "KVMRRBRL", version, window (3 x u64); then chunks: u32 records, u32 compressed bytes,
// the zstd frame of the records; the end: a chunk of 0 records whose u32 is 0xffffffff...
// followed by the instruction count (u64).
constexpr char kMagic[8] = {'K', 'V', 'M', 'R', 'R', 'B', 'R', 'L'};
constexpr uint64_t kVersion = 1;
constexpr size_t kChunk = 1 << 16;
constexpr uint32_t kEndMark = 0xffffffffu;

}  // namespace

const char* to_string(Kind k) {
  switch (k) {
    case Kind::Call: return "call";
    case Kind::Return: return "return";
    case Kind::Jump: return "jump";
    case Kind::Interrupt: return "interrupt";
    case Kind::Iret: return "iret";
    case Kind::ToUser: return "to_user";
    case Kind::Entry: return "entry";
  }
  return "?";
}

LogWriter::LogWriter(const std::filesystem::path& path, const Window& w) : path_(path) {
  f_ = fopen(path.c_str(), "wb");
  if (!f_) throw RecordingError(RecordingError::Kind::Io, path, strerror(errno));
  uint64_t head[4] = {kVersion, w.from_event, w.to_event, w.pid};
  fwrite(kMagic, 1, sizeof kMagic, f_);
  fwrite(head, sizeof head, 1, f_);
  fflush(f_);
  chunk_.reserve(kChunk);
}

LogWriter::~LogWriter() {
  if (f_) fclose(f_);
}

void LogWriter::append(const Record& r) {
  chunk_.push_back(r);
  if (chunk_.size() == kChunk) flush_chunk();
}

void LogWriter::flush_chunk() {
  if (chunk_.empty() || !f_) return;
  size_t raw = chunk_.size() * sizeof(Record);
  std::vector<char> z(ZSTD_compressBound(raw));
  size_t n = ZSTD_compress(z.data(), z.size(), chunk_.data(), raw, 3);
  if (ZSTD_isError(n)) throw RecordingError(RecordingError::Kind::Io, path_, ZSTD_getErrorName(n));
  uint32_t head[2] = {uint32_t(chunk_.size()), uint32_t(n)};
  if (fwrite(head, sizeof head, 1, f_) != 1 || fwrite(z.data(), 1, n, f_) != n || fflush(f_) != 0) {
    throw RecordingError(RecordingError::Kind::Io, path_, strerror(errno));
  }
  chunk_.clear();
}

void LogWriter::finish(uint64_t instructions) {
  flush_chunk();
  uint32_t end[2] = {0, kEndMark};
  if (fwrite(end, sizeof end, 1, f_) != 1 || fwrite(&instructions, 8, 1, f_) != 1 || fclose(f_) != 0) {
    f_ = nullptr;
    throw RecordingError(RecordingError::Kind::Io, path_, strerror(errno));
  }
  f_ = nullptr;
}

LogReader::LogReader(const std::filesystem::path& path) : path_(path) {
  f_ = fopen(path.c_str(), "rb");
  if (!f_)
    throw RecordingError(RecordingError::Kind::Io, path, "cannot open (run kvm-rr replay --pass branches first)");
  char magic[8];
  uint64_t head[4];
  if (fread(magic, 1, 8, f_) != 8 || fread(head, sizeof head, 1, f_) != 1) {
    throw RecordingError(RecordingError::Kind::Truncated, path, "shorter than its header", 0);
  }
  if (memcmp(magic, kMagic, 8) != 0) throw RecordingError(RecordingError::Kind::Corrupt, path, "not a branch log", 0);
  if (head[0] != kVersion) {
    throw RecordingError(RecordingError::Kind::Version, path,
                         fmt::format("branch log version {}, this kvm-rr reads {}", head[0], kVersion), 8);
  }
  window_ = Window{head[1], head[2], head[3]};
  offset_ = 40;
}

LogReader::~LogReader() {
  if (f_) fclose(f_);
}

bool LogReader::read_chunk() {
  uint32_t h[2];
  if (done_ || fread(h, sizeof h, 1, f_) != 1) return done_ = true, false;
  if (h[0] == 0 && h[1] == kEndMark) {
    complete_ = fread(&instructions_, 8, 1, f_) == 1;
    return done_ = true, false;
  }
  std::vector<char> z(h[1]);
  if (fread(z.data(), 1, z.size(), f_) != z.size()) return done_ = true, false;  // cut short
  chunk_.resize(h[0]);
  size_t n = ZSTD_decompress(chunk_.data(), size_t(h[0]) * sizeof(Record), z.data(), z.size());
  if (ZSTD_isError(n) || n != size_t(h[0]) * sizeof(Record)) {
    throw RecordingError(RecordingError::Kind::Corrupt, path_, "a chunk does not decompress", offset_);
  }
  offset_ += 8 + z.size();
  at_ = 0;
  return true;
}

bool LogReader::next(Record& out) {
  while (at_ == chunk_.size()) {
    if (!read_chunk()) return false;
  }
  out = chunk_[at_++];
  records_++;
  return true;
}

Log read_log(const std::filesystem::path& path) {
  LogReader r(path);
  Log log;
  log.window = r.window();
  for (Record rec; r.next(rec);) log.records.push_back(rec);
  log.complete = r.complete();
  log.instructions = r.instructions();
  return log;
}

}  // namespace kvmrr::branches
