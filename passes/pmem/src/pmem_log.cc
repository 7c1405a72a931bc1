#include "kvmrr/pmem_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "kvmrr/error.h"

namespace kvmrr::pmem {

const char* flush_kind_name(uint8_t kind) {
  switch (FlushKind(kind)) {
    case FlushKind::Clflush: return "clflush";
    case FlushKind::Clflushopt: return "clflushopt";
    case FlushKind::Clwb: return "clwb";
    case FlushKind::Wbinvd: return "wbinvd";
  }
  return "flush?";
}

const char* fence_kind_name(uint8_t kind) {
  switch (FenceKind(kind)) {
    case FenceKind::Sfence: return "sfence";
    case FenceKind::Mfence: return "mfence";
    case FenceKind::Locked: return "locked";
    case FenceKind::Serializing: return "serializing";
  }
  return "fence?";
}

static size_t padded(size_t n) { return (n + 7) & ~size_t(7); }

LogWriter::LogWriter(const std::filesystem::path& path, uint64_t base, uint64_t size) : path_(path) {
  f_ = fopen(path.c_str(), "wb");
  if (!f_) throw std::runtime_error(fmt::format("{}: {}", path.string(), strerror(errno)));
  FileHeader h{};
  memcpy(h.magic, kLogMagic, sizeof h.magic);
  h.version = kLogVersion;
  h.line_size = kLineSize;
  h.base = base;
  h.size = size;
  buf_.reserve(1 << 20);
  buf_.insert(buf_.end(), reinterpret_cast<const uint8_t*>(&h), reinterpret_cast<const uint8_t*>(&h + 1));
  flush();
}

LogWriter::~LogWriter() {
  if (f_) {
    try {
      flush();
    } catch (...) {}
    fclose(f_);
  }
}

void LogWriter::append(const RecordHeader& h, const void* data) {
  const auto* p = reinterpret_cast<const uint8_t*>(&h);
  buf_.insert(buf_.end(), p, p + sizeof h);
  if (h.size) {
    const auto* d = static_cast<const uint8_t*>(data);
    buf_.insert(buf_.end(), d, d + h.size);
    buf_.resize(buf_.size() + padded(h.size) - h.size, 0);
  }
  if (buf_.size() >= (1 << 20)) flush();
}

void LogWriter::end(uint64_t fences, uint64_t stores) {
  RecordHeader h{};
  h.type = RecordType::End;
  h.addr = fences;
  h.pc = stores;
  append(h);
  flush();
}

void LogWriter::flush() {
  if (buf_.empty()) return;
  if (fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size() || fflush(f_) != 0) {
    throw std::runtime_error(fmt::format("{}: write failed: {}", path_.string(), strerror(errno)));
  }
  buf_.clear();
}

Log read_log(const std::filesystem::path& path) {
  using K = RecordingError::Kind;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(K::Io, path, strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Log log;
  if (bytes.size() < sizeof(FileHeader)) throw RecordingError(K::Truncated, path, "shorter than the pmem log header");
  memcpy(&log.header, bytes.data(), sizeof log.header);
  if (memcmp(log.header.magic, kLogMagic, sizeof kLogMagic) != 0) {
    throw RecordingError(K::Corrupt, path, "not a kvm-rr pmem log (bad magic)", 0);
  }
  if (log.header.version != kLogVersion) {
    throw RecordingError(
        K::Version, path,
        fmt::format("pmem log version {}; this kvm-rr reads version {}", log.header.version, kLogVersion));
  }
  if (log.header.line_size != kLineSize || log.header.size == 0 || log.header.size % kLineSize) {
    throw RecordingError(K::Corrupt, path,
                         fmt::format("bad geometry: size {} line {}", log.header.size, log.header.line_size), 8);
  }
  size_t off = sizeof(FileHeader);
  while (off < bytes.size()) {
    if (bytes.size() - off < sizeof(RecordHeader)) {
      log.incomplete_reason = fmt::format("cut short inside a record header at offset {}", off);
      return log;
    }
    Record r;
    memcpy(&r.h, bytes.data() + off, sizeof r.h);
    if (r.h.type < RecordType::Store || r.h.type > RecordType::End || r.h.size > 4096 ||
        (r.h.type != RecordType::Store && r.h.size != 0)) {
      throw RecordingError(K::Corrupt, path, fmt::format("bad record (type {}, size {})", int(r.h.type), r.h.size),
                           off);
    }
    if (r.h.type == RecordType::Store &&
        (r.h.size == 0 || r.h.addr < log.header.base || r.h.addr + r.h.size > log.header.base + log.header.size)) {
      throw RecordingError(K::Corrupt, path,
                           fmt::format("store of {} bytes at {:#x} outside the pmem range", r.h.size, r.h.addr), off);
    }
    if (bytes.size() - off - sizeof r.h < padded(r.h.size)) {
      log.incomplete_reason = fmt::format("cut short inside a record at offset {}", off);
      return log;
    }
    r.data.assign(bytes.begin() + long(off + sizeof r.h), bytes.begin() + long(off + sizeof r.h + r.h.size));
    off += sizeof r.h + padded(r.h.size);
    if (r.h.type == RecordType::End) {
      log.complete = true;
      log.fences_total = r.h.addr;
      log.stores_total = r.h.pc;
      if (off != bytes.size()) throw RecordingError(K::Corrupt, path, "bytes after the end record", off);
      return log;
    }
    log.records.push_back(std::move(r));
  }
  log.incomplete_reason = "no end record (the run was cut short)";
  return log;
}

}  // namespace kvmrr::pmem
