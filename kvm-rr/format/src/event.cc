#include "kvmrr/event.h"
#include "kvmrr/error.h"
#include "kvmrr/vmlinux.h"

#include <stdexcept>

#include <fmt/format.h>

namespace kvmrr {

namespace {
constexpr EventTypeInfo kTypes[] = {
    {EventType::Syscall, "syscall", {"nr", "pid"}, "user registers"},
    {EventType::Exception, "exception", {"vector", "error_code", "cr2", "pid"}, "user registers"},
    {EventType::Interrupt, "interrupt", {"vector", "user", "sync", "pid"}, "user registers (user mode)"},
    {EventType::Cfu, "cfu", {"uaddr", "len", "kind"}, "bytes read"},
    {EventType::Gfu, "gfu", {"uaddr", "len", "kind"}, "bytes read (get_user family, futex words)"},
    {EventType::Pte,
     "pte",
     {"ram_addr", "len", "sync", "in_io"},
     "page-table entry as the CPU set its accessed/dirty bits"},
    {EventType::Rdtsc, "rdtsc", {"value", "aux", "rdtscp"}, ""},
    {EventType::Rdseed, "rdseed", {"value", "ok", "rdrand"}, ""},
    {EventType::IoIn, "io_in", {"port", "size", "value"}, ""},
    {EventType::Mmio, "mmio", {"gpa", "size", "value"}, ""},
    {EventType::Dma, "dma", {"ram_addr", "len", "sync", "in_io"}, "bytes written"},
    {EventType::YieldWindow, "yield_window", {"yield", "pending"}, ""},
    {EventType::Deschedule, "deschedule", {"sync"}, "registers"},
    {EventType::Resume, "resume", {"sync"}, "registers"},
    {EventType::MemDigest,
     "mem_digest",
     {"point", "seq", "pages", "combined", "sync"},
     "digests of the kernel's pages that changed since the previous digest"},
};
static_assert(std::size(kTypes) == kLastEventType - kFirstEventType + 1);
}  // namespace

std::span<const EventTypeInfo> all_event_types() { return kTypes; }

std::optional<EventTypeInfo> event_type_info(uint8_t raw) {
  if (raw < kFirstEventType || raw > kLastEventType) return std::nullopt;
  return kTypes[raw - kFirstEventType];
}

const EventTypeInfo& event_type_info(EventType type) { return kTypes[static_cast<uint8_t>(type) - kFirstEventType]; }

std::string_view to_string(EventType type) { return event_type_info(type).name; }

void Event::push_arg(uint64_t v) {
  if (nargs >= kMaxEventArgs) throw std::length_error("event has too many arguments");
  args[nargs++] = v;
}

bool is_user_entry(const Event& e) {
  return e.type == EventType::Syscall || e.type == EventType::Exception ||
         (e.type == EventType::Interrupt && e.nargs > arg::kUser && e.args[arg::kUser] == 1);
}

std::optional<uint64_t> entry_pid(const Event& e) {
  if (!is_user_entry(e)) return std::nullopt;
  size_t at = e.type == EventType::Syscall ? arg::kSyscallPid : arg::kEntryPid;
  if (e.nargs <= at) return std::nullopt;
  return e.args[at];
}

std::string describe(const Event& e, const Vmlinux* kernel) {
  const EventTypeInfo& info = event_type_info(e.type);
  std::string s = fmt::format("{} vcpu={} rip={:#x}", info.name, e.vcpu, e.rip);
  if (kernel && e.rip >= 0xffff800000000000ull) {
    if (auto name = kernel->symbol_at(e.rip)) s += fmt::format(" <{}>", *name);
  }
  if (e.digest) s += fmt::format(" digest={:#018x}", e.digest);
  for (size_t i = 0; i < e.nargs; i++) {
    std::string_view name = info.args[i];
    if (name.empty()) s += fmt::format(" arg{}={:#x}", i, e.args[i]);
    else if (name == "pid") s += fmt::format(" pid={}", e.args[i]);  // as ps shows it
    else s += fmt::format(" {}={:#x}", name, e.args[i]);
  }
  if (!e.data.empty()) s += fmt::format(" data={}B", e.data.size());
  return s;
}

const char* to_string(RecordingError::Kind kind) {
  switch (kind) {
    case RecordingError::Kind::Io: return "i/o error";
    case RecordingError::Kind::Corrupt: return "corrupt";
    case RecordingError::Kind::Version: return "unsupported version";
    case RecordingError::Kind::Truncated: return "truncated";
  }
  return "error";
}

static std::string error_text(const std::filesystem::path& file, std::optional<uint64_t> offset,
                              const std::string& message) {
  if (offset) return fmt::format("{}: at offset {}: {}", file.string(), *offset, message);
  return fmt::format("{}: {}", file.string(), message);
}

RecordingError::RecordingError(Kind kind, std::filesystem::path file, std::string message,
                               std::optional<uint64_t> offset)
    : std::runtime_error(error_text(file, offset, message)),
      kind_(kind),
      file_(std::move(file)),
      offset_(offset),
      detail_(std::move(message)) {}

}  // namespace kvmrr
