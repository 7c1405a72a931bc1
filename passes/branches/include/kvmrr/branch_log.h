#pragma once
// The branch pass's log (DIR/branches/branches.log): every taken kernel branch of a replay
// window, in execution order, as fixed-size records in zstd-compressed chunks. Written by the
// TCG plugin (libkvmrr-branches.so), read by `kvm-rr branches`.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrr::branches {

enum class Kind : uint8_t {
  Call = 1,       // CALL
  Return = 2,     // RET
  Jump = 3,       // JMP, a taken conditional jump, LOOP
  Interrupt = 4,  // control went elsewhere with no branch: an interrupt or exception in
                  // kernel mode (from: where it was, or 0 when it was inside a block)
  Iret = 5,       // IRET back into kernel code (the end of an interrupt or exception)
  ToUser = 6,     // SYSRET or IRET to user mode (to: 0; replay runs no user code)
  Entry = 7,      // a kernel entry from user mode, which replay performs (from: 0)
};
const char* to_string(Kind k);

struct Record {
  uint64_t from = 0;    // the branch instruction's address
  uint64_t to = 0;      // the next instruction executed
  uint64_t icount = 0;  // instructions the vCPU executed before `to` (within the pass)
  uint64_t event = 0;   // events the replay had consumed
  uint32_t pid = 0;     // thread running (the last entry from user mode told it; 0 unknown)
  uint16_t vcpu = 0;
  Kind kind = Kind::Jump;
  uint8_t reserved = 0;
};
static_assert(sizeof(Record) == 40);

struct Window {
  uint64_t from_event = 0;         // record once this many events were consumed
  uint64_t to_event = UINT64_MAX;  // ... and until this many
  uint64_t pid = 0;                // 0: every thread
};

class LogWriter {
 public:
  // Throws RecordingError (Io) when the file cannot be created.
  LogWriter(const std::filesystem::path& path, const Window& w);
  ~LogWriter();
  void append(const Record& r);
  // Flushes and writes the end marker: a log without it was cut short (QEMU killed).
  void finish(uint64_t instructions);

 private:
  void flush_chunk();
  std::filesystem::path path_;
  FILE* f_ = nullptr;
  std::vector<Record> chunk_;
};

// Reads a log chunk by chunk (a whole replay's log holds tens of millions of branches).
// Throws RecordingError: missing, corrupt, other version; a log cut short reads to its last
// whole chunk, and then complete() is false.
class LogReader {
 public:
  explicit LogReader(const std::filesystem::path& path);
  ~LogReader();
  bool next(Record& out);
  const Window& window() const { return window_; }
  // Valid once next() returned false.
  bool complete() const { return complete_; }
  uint64_t instructions() const { return instructions_; }  // in the window (complete only)
  uint64_t records() const { return records_; }

 private:
  bool read_chunk();
  std::filesystem::path path_;
  FILE* f_ = nullptr;
  Window window_;
  std::vector<Record> chunk_;
  size_t at_ = 0;
  uint64_t offset_ = 0, records_ = 0, instructions_ = 0;
  bool complete_ = false, done_ = false;
};

struct Log {
  Window window;
  std::vector<Record> records;
  bool complete = false;
  uint64_t instructions = 0;
};
// The whole log in memory (small windows, tests).
Log read_log(const std::filesystem::path& path);

}  // namespace kvmrr::branches
