#pragma once
// The pmem pass's log (DIR/pmem/pmem.log): what the TCG plugin saw happen to the
// guest-physical persistent-memory range, in execution order. The plugin writes it,
// `kvm-rr pmem-check` reads it. Little-endian, fixed 32-byte record headers:
//
//   file   := FileHeader Record* [End]
//   Record := RecordHeader data[size rounded up to 8]   (data only for stores)
//
// A log without its End record was cut short (QEMU killed, disk full): the reader returns
// the readable prefix and says so, like the event stream.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace kvmrr::pmem {

inline constexpr char kLogMagic[8] = {'K', 'R', 'R', 'P', 'M', 'E', 'M', '\n'};
inline constexpr uint32_t kLogVersion = 1;
inline constexpr uint64_t kLineSize = 64;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t line_size;
  uint64_t base;  // guest-physical start of the pmem range
  uint64_t size;  // its length in bytes
};
static_assert(sizeof(FileHeader) == 32);

enum class RecordType : uint8_t {
  Store = 1,       // addr, size, data: bytes written (after the store)
  Flush = 2,       // addr: the flushed address; kind: FlushKind
  Fence = 3,       // kind: FenceKind
  Syscall = 4,     // addr: syscall number; arg: first argument
  Checkpoint = 5,  // addr: the guest's checkpoint number (kvmrr/checkpoint.h)
  End = 6,         // addr: fences executed in total; pc: stores seen anywhere
};

enum class FlushKind : uint8_t { Clflush = 0, Clflushopt = 1, Clwb = 2, Wbinvd = 3 };
enum class FenceKind : uint8_t { Sfence = 0, Mfence = 1, Locked = 2, Serializing = 3 };

inline constexpr uint8_t kStoreNonTemporal = 1;  // RecordHeader::flags

struct RecordHeader {
  RecordType type;
  uint8_t kind;   // FlushKind / FenceKind
  uint8_t flags;  // kStoreNonTemporal
  uint8_t pad;
  uint32_t vcpu;
  uint64_t pc;    // guest virtual address of the instruction
  uint64_t addr;  // guest-physical address (Store, Flush) or as the type says
  uint32_t size;  // bytes of data (Store)
  uint32_t arg;
};
static_assert(sizeof(RecordHeader) == 32);

struct Record {
  RecordHeader h{};
  std::vector<uint8_t> data;
};

const char* flush_kind_name(uint8_t kind);
const char* fence_kind_name(uint8_t kind);

// Buffered writer (the plugin's). Throws std::runtime_error on I/O errors.
class LogWriter {
 public:
  LogWriter(const std::filesystem::path& path, uint64_t base, uint64_t size);
  ~LogWriter();
  void append(const RecordHeader& h, const void* data = nullptr);
  void end(uint64_t fences, uint64_t stores);  // writes End and flushes
  void flush();

 private:
  FILE* f_ = nullptr;
  std::filesystem::path path_;
  std::vector<uint8_t> buf_;
};

// Reads a whole log. Throws RecordingError for a file that is not a pmem log, a different
// version, or a corrupt record; a log cut short reads as its prefix with complete=false.
struct Log {
  FileHeader header{};
  std::vector<Record> records;
  bool complete = false;
  std::string incomplete_reason;
  uint64_t fences_total = 0, stores_total = 0;  // from End
};
Log read_log(const std::filesystem::path& path);

}  // namespace kvmrr::pmem
