#include "kvmrr/trace_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <zlib.h>
#include <zstd.h>

#include "kvmrr/error.h"

namespace kvmrr {

namespace {

constexpr char kStreamMagic[8] = {'K', 'V', 'M', 'R', 'R', 'E', 'V', 'T'};
constexpr uint32_t kFrameMagic = 0x314d5246;  // "FRM1"
constexpr uint32_t kFrameEvents = 1;
constexpr uint32_t kFrameEnd = 2;
// Larger sizes in a frame header mean corruption, not a real frame.
constexpr uint32_t kMaxFrameBytes = 256u << 20;
constexpr int kZstdLevel = 3;

using Kind = RecordingError::Kind;

uint32_t crc(const void* data, size_t size) {
  return static_cast<uint32_t>(crc32(0, static_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

void append_u64(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t b[8];
  put_u64(b, v);
  out.insert(out.end(), b, b + 8);
}
void append_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out.push_back(uint8_t(v));
}

// Decodes events from one decompressed frame; any overrun is corruption of that frame.
class FrameCursor {
 public:
  FrameCursor(const std::vector<uint8_t>& buf, size_t& pos) : buf_(buf), pos_(pos) {}
  bool ok() const { return ok_; }
  uint8_t u8() {
    if (!need(1)) return 0;
    return buf_[pos_++];
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t v = get_u64(&buf_[pos_]);
    pos_ += 8;
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      uint8_t b = buf_[pos_++];
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  void bytes(std::vector<uint8_t>& out, uint64_t n) {
    if (!need(n)) return;
    out.assign(buf_.begin() + pos_, buf_.begin() + pos_ + n);
    pos_ += n;
  }

 private:
  bool need(uint64_t n) {
    if (!ok_ || buf_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  const std::vector<uint8_t>& buf_;
  size_t& pos_;
  bool ok_ = true;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// TraceWriter

TraceWriter::TraceWriter(std::filesystem::path path, size_t frame_bytes)
    : path_(std::move(path)), frame_bytes_(frame_bytes) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RecordingError(Kind::Io, path_, fmt::format("cannot create: {}", strerror(errno)));
  cctx_ = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_compressionLevel, kZstdLevel);
  uint8_t h[kStreamHeaderSize] = {};
  memcpy(h, kStreamMagic, 8);
  put_u32(h + 8, kFormatVersion);
  put_u32(h + 12, kStreamHeaderSize);
  put_u32(h + 28, crc(h, 28));
  try {
    write_all(h, sizeof h);
  } catch (...) {
    // No destructor runs for an object whose constructor threw (a full disk): free here.
    ::close(fd_);
    ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
    throw;
  }
}

TraceWriter::~TraceWriter() {
  try {
    if (!closed_) flush();
  } catch (...) {
    // A destructor cannot report; the frames already written stay readable.
  }
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
}

void TraceWriter::write_all(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw RecordingError(Kind::Io, path_, fmt::format("write failed: {}", strerror(errno)), offset_);
    }
    p += n;
    size -= size_t(n);
    offset_ += uint64_t(n);
  }
}

void TraceWriter::append(const Event& e) {
  if (closed_) throw std::logic_error("TraceWriter::append after close");
  pending_.push_back(static_cast<uint8_t>(e.type));
  append_varint(pending_, e.vcpu);
  append_u64(pending_, e.rip);
  append_u64(pending_, e.digest);
  pending_.push_back(e.nargs);
  for (size_t i = 0; i < e.nargs; i++) append_varint(pending_, e.args[i]);
  append_varint(pending_, e.data.size());
  pending_.insert(pending_.end(), e.data.begin(), e.data.end());
  pending_count_++;
  if (pending_.size() >= frame_bytes_) flush();
}

void TraceWriter::write_frame(uint32_t kind, const std::vector<uint8_t>& payload, uint32_t raw_size, uint32_t count) {
  // Header and payload in one buffer and one write(2): a kill between frames never leaves a
  // header without its payload from this process's side.
  std::vector<uint8_t> buf(kFrameHeaderSize + payload.size());
  uint8_t* h = buf.data();
  put_u32(h + 0, kFrameMagic);
  put_u32(h + 4, kind);
  put_u64(h + 8, next_index_);
  put_u32(h + 16, count);
  put_u32(h + 20, raw_size);
  put_u32(h + 24, static_cast<uint32_t>(payload.size()));
  put_u32(h + 28, crc(payload.data(), payload.size()));
  put_u32(h + 32, crc(h, 32));
  // An END frame has no payload, and memcpy from its null data is undefined even for 0 bytes.
  if (!payload.empty()) memcpy(h + kFrameHeaderSize, payload.data(), payload.size());
  write_all(buf.data(), buf.size());
}

void TraceWriter::flush() {
  if (pending_count_ == 0) return;
  std::vector<uint8_t> out(ZSTD_compressBound(pending_.size()));
  size_t n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(cctx_), out.data(), out.size(), pending_.data(), pending_.size());
  if (ZSTD_isError(n)) {
    throw RecordingError(Kind::Io, path_, fmt::format("zstd: {}", ZSTD_getErrorName(n)), offset_);
  }
  out.resize(n);
  write_frame(kFrameEvents, out, static_cast<uint32_t>(pending_.size()), pending_count_);
  next_index_ += pending_count_;
  pending_count_ = 0;
  pending_.clear();
}

void TraceWriter::close() {
  if (closed_) return;
  flush();
  write_frame(kFrameEnd, {}, 0, 0);
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    throw RecordingError(Kind::Io, path_, fmt::format("fsync failed: {}", strerror(errno)));
  }
  closed_ = true;
}

// ---------------------------------------------------------------------------------------
// TraceReader

TraceReader::TraceReader(std::filesystem::path path) : path_(std::move(path)) {
  try {
    open_checked();
  } catch (...) {
    // No destructor runs for an object whose constructor threw: a refused stream would leak
    // its descriptor and decompression context (found by fuzz/trace_stream_fuzz.cc).
    if (fd_ >= 0) ::close(fd_);
    ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
    throw;
  }
}

void TraceReader::open_checked() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw RecordingError(Kind::Io, path_, fmt::format("cannot open: {}", strerror(errno)));
  struct stat st;
  if (fstat(fd_, &st) != 0) throw RecordingError(Kind::Io, path_, strerror(errno));
  file_size_ = uint64_t(st.st_size);
  end_.file_bytes = file_size_;
  dctx_ = ZSTD_createDCtx();

  uint8_t h[kStreamHeaderSize];
  if (!read_at(0, h, sizeof h)) {
    throw RecordingError(
        Kind::Truncated, path_,
        fmt::format("stream header incomplete: file has {} bytes, header needs {}", file_size_, kStreamHeaderSize), 0);
  }
  if (memcmp(h, kStreamMagic, 8) != 0) corrupt(0, "not a kvm-rr event stream (bad magic)");
  if (get_u32(h + 28) != crc(h, 28)) corrupt(0, "stream header checksum mismatch");
  uint32_t version = get_u32(h + 8);
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    throw RecordingError(Kind::Version, path_,
                         fmt::format("written by recording format version {}; this kvm-rr reads "
                                     "versions {} to {}",
                                     version, kOldestFormatVersion, kFormatVersion),
                         8);
  }
  offset_ = get_u32(h + 12);
  if (offset_ < kStreamHeaderSize) corrupt(12, "stream header size too small");
  end_.valid_bytes = offset_;
}

TraceReader::~TraceReader() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
}

bool TraceReader::read_at(uint64_t offset, void* out, size_t size) const {
  if (offset > file_size_ || file_size_ - offset < size) return false;
  uint8_t* p = static_cast<uint8_t*>(out);
  while (size > 0) {
    ssize_t n = ::pread(fd_, p, size, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw RecordingError(Kind::Io, path_, fmt::format("read failed: {}", strerror(errno)), offset);
    if (n == 0) return false;
    p += n;
    size -= size_t(n);
    offset += uint64_t(n);
  }
  return true;
}

void TraceReader::corrupt(uint64_t offset, const std::string& what) const {
  throw RecordingError(Kind::Corrupt, path_, what, offset);
}

// Loads the next event frame. False at the end of the readable stream, with end_ filled in.
bool TraceReader::load_frame() {
  for (;;) {
    if (offset_ == file_size_) {
      end_.reason = fmt::format(
          "stream ends at offset {} without an END frame (recorder "
          "stopped before closing it)",
          offset_);
      return false;
    }
    uint8_t h[kFrameHeaderSize];
    if (!read_at(offset_, h, sizeof h)) {
      end_.reason = fmt::format("truncated frame header at offset {} ({} of {} bytes present)", offset_,
                                file_size_ - offset_, kFrameHeaderSize);
      return false;
    }
    if (get_u32(h) != kFrameMagic) corrupt(offset_, "bad frame magic");
    if (get_u32(h + 32) != crc(h, 32)) corrupt(offset_, "frame header checksum mismatch");
    uint32_t kind = get_u32(h + 4);
    uint64_t first = get_u64(h + 8);
    uint32_t count = get_u32(h + 16);
    uint32_t raw_size = get_u32(h + 20);
    uint32_t comp_size = get_u32(h + 24);
    if (first != end_.events) {
      corrupt(offset_, fmt::format("frame starts at event {}, expected {}", first, end_.events));
    }
    if (kind == kFrameEnd) {
      if (comp_size != 0 || count != 0) corrupt(offset_, "END frame with payload");
      end_.complete = true;
      offset_ += kFrameHeaderSize;
      end_.valid_bytes = offset_;
      if (offset_ != file_size_) {
        corrupt(offset_, fmt::format("{} bytes after the END frame", file_size_ - offset_));
      }
      return false;
    }
    if (kind != kFrameEvents) corrupt(offset_, fmt::format("unknown frame kind {}", kind));
    if (raw_size > kMaxFrameBytes || comp_size > kMaxFrameBytes) {
      corrupt(offset_, "frame size out of range");
    }
    compressed_.resize(comp_size);
    if (!read_at(offset_ + kFrameHeaderSize, compressed_.data(), comp_size)) {
      end_.reason = fmt::format("truncated frame at offset {}: payload needs {} bytes, {} present", offset_, comp_size,
                                file_size_ - offset_ - kFrameHeaderSize);
      return false;
    }
    if (get_u32(h + 28) != crc(compressed_.data(), comp_size)) {
      corrupt(offset_, "frame payload checksum mismatch");
    }
    frame_.resize(raw_size);
    size_t n =
        ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_), frame_.data(), raw_size, compressed_.data(), comp_size);
    if (ZSTD_isError(n) || n != raw_size) {
      corrupt(offset_,
              fmt::format("frame does not decompress: {}", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
    }
    frame_offset_ = offset_;
    frame_pos_ = 0;
    frame_left_ = count;
    offset_ += kFrameHeaderSize + comp_size;
    end_.frames++;
    end_.raw_bytes += raw_size;
    if (count > 0) return true;
    end_.valid_bytes = offset_;
  }
}

bool TraceReader::next(Event& out) {
  if (done_) return false;
  if (frame_left_ == 0) {
    if (frame_pos_ != frame_.size()) {
      corrupt(frame_offset_, fmt::format("{} undecoded bytes after the frame's events", frame_.size() - frame_pos_));
    }
    end_.valid_bytes = offset_;
    if (!load_frame()) {
      done_ = true;
      return false;
    }
  }
  FrameCursor c(frame_, frame_pos_);
  uint8_t type = c.u8();
  auto info = event_type_info(type);
  if (c.ok() && !info) {
    corrupt(frame_offset_, fmt::format("event {}: unknown event type {}", end_.events, type));
  }
  out.type = static_cast<EventType>(type);
  out.vcpu = static_cast<uint32_t>(c.varint());
  out.rip = c.u64();
  out.digest = c.u64();
  out.nargs = c.u8();
  if (out.nargs > kMaxEventArgs) {
    corrupt(frame_offset_, fmt::format("event {}: {} arguments", end_.events, out.nargs));
  }
  out.args = {};
  for (size_t i = 0; i < out.nargs; i++) out.args[i] = c.varint();
  uint64_t size = c.varint();
  out.data.clear();
  c.bytes(out.data, size);
  if (!c.ok()) corrupt(frame_offset_, fmt::format("event {} overruns its frame", end_.events));
  frame_left_--;
  end_.events++;
  returned_++;
  return true;
}

}  // namespace kvmrr
