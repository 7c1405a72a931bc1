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

struct Log {
  Window window;
  std::vector<Record> records;
  bool complete = false;      // the end marker is there
  uint64_t instructions = 0;  // kernel instructions the pass saw in its window (complete only)
};
// Throws RecordingError: missing, corrupt, other version; a log cut short reads to its
// last whole chunk with complete = false.
Log read_log(const std::filesystem::path& path);

}  // namespace kvmrr::branches
