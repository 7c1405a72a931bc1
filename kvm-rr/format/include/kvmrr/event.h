#pragma once
// Events: everything the guest kernel consumed that it did not compute itself (see
// shared design: the record boundary is the kernel), plus sync points. One Event type for
// all kinds keeps the stream codec and tools generic; EventTypeInfo names each kind's fields.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrr {

// Stable numbering: these values are in recordings. Add at the end; never reuse a number.
enum class EventType : uint8_t {
  Syscall = 1,       // kernel entry by syscall; data: user register file
  Exception = 2,     // kernel entry by exception from user mode; data: user register file
  Interrupt = 3,     // interrupt delivered (user or kernel mode)
  Cfu = 4,           // bytes read from user memory (copy_from_user, strncpy_from_user, ...)
  Gfu = 5,           // scalar read from user memory (get_user family, futex words)
  Pte = 6,           // page-table entry whose accessed/dirty bits the CPU set while user code ran
  Rdtsc = 7,         // RDTSC / RDTSCP result in kernel mode
  Rdseed = 8,        // RDSEED / RDRAND result in kernel mode
  IoIn = 9,          // PIO IN value
  Mmio = 10,         // MMIO read value
  Dma = 11,          // device write into guest memory, published at a sync point
  YieldWindow = 12,  // interrupt window taken at the k-th yield point of a vCPU
  Deschedule = 13,   // several vCPUs on one TCG thread: the recorder left this vCPU, in kernel
                     // mode, at this sync point to run another (replay does the same there)
  Resume = 14,       // several vCPUs on one TCG thread: the recorder ran this vCPU, in kernel
                     // mode (left there by a deschedule, or by the snapshot), again from here
  MemDigest = 15,    // digests of the pages the kernel owns, taken at a sync point of the vCPU or
                     // right after the event before; data: the pages that changed since the last
                     // (kvmrr/memory_digest.h)
};
inline constexpr uint8_t kFirstEventType = 1;

// Where the vCPU was when a device wrote guest RAM (a Dma or Pte event's in_io; the numbers
// are in recordings): parked in kernel mode at its sync point, or halted; inside its own port
// or MMIO access; after the snapshot before it ran; in user mode past its last kernel sync
// point (replay writes it when the vCPU next enters the kernel); while no vCPU ran kernel code
// (several vCPUs under KVM: the main loop held the guest's kernel token; replay writes it where
// the log has it, whichever vCPU is next; the event's vcpu and sync say nothing).
enum class DmaTiming : uint32_t { AtSyncPoint = 0, InAccess = 1, BeforeRun = 2, InUser = 3, Between = 4 };

inline constexpr uint8_t kLastEventType = 15;
inline constexpr size_t kMaxEventArgs = 6;

// Argument positions by the names EventTypeInfo gives them (`kvm-rr dump` prints those); the
// positions are the format. Read e.args[arg::kX] rather than a bare index; a unit test
// checks every constant against the names table.
namespace arg {
// syscall (nr, pid), exception (vector, error_code, cr2, pid), interrupt (vector, user, sync, pid)
inline constexpr size_t kVector = 0;                     // the syscall's nr too
inline constexpr size_t kErrorCode = 1, kCr2 = 2;        // exception
inline constexpr size_t kUser = 1, kIrqSync = 2;         // interrupt: taken in user mode; sync point
inline constexpr size_t kSyscallPid = 1, kEntryPid = 3;  // the entering thread (entry_pid())
// cfu, gfu
inline constexpr size_t kUaddr = 0, kReadLen = 1, kKind = 2;
// rdtsc, rdseed
inline constexpr size_t kValue = 0;
// io_in (port, size, value), mmio (gpa, size, value)
inline constexpr size_t kWhere = 0, kSize = 1, kDeviceValue = 2;
// dma, pte
inline constexpr size_t kRamAddr = 0, kWriteLen = 1, kWriteSync = 2, kInIo = 3;
// yield_window
inline constexpr size_t kYield = 0, kPending = 1;
// deschedule, resume
inline constexpr size_t kSwitchSync = 0;
// mem_digest (point: DigestPoint; seq counts digests from 1; pages covered; combined hash;
// sync: the vCPU's sync point it was taken at, absent when taken right after the event before)
inline constexpr size_t kDigestPoint = 0, kDigestSeq = 1, kDigestPages = 2, kDigestCombined = 3, kDigestSync = 4;
}  // namespace arg

struct EventTypeInfo {
  EventType type;
  std::string_view name;                             // as printed by `kvm-rr dump`
  std::array<std::string_view, kMaxEventArgs> args;  // names of args[i]; empty = unnamed
  std::string_view data;                             // what data holds, empty if unused
};

// nullopt for a number no EventType has (a corrupt or newer recording).
std::optional<EventTypeInfo> event_type_info(uint8_t raw);
const EventTypeInfo& event_type_info(EventType type);
std::span<const EventTypeInfo> all_event_types();
std::string_view to_string(EventType type);

struct Event {
  EventType type = EventType::Syscall;
  uint32_t vcpu = 0;
  uint64_t rip = 0;     // guest RIP where the event applies: checked in replay
  uint64_t digest = 0;  // digest of the vCPU's registers at the event, 0 if not taken
  uint8_t nargs = 0;
  std::array<uint64_t, kMaxEventArgs> args{};
  std::vector<uint8_t> data;

  void push_arg(uint64_t v);  // throws std::length_error past kMaxEventArgs
  std::span<const uint64_t> arg_span() const { return {args.data(), nargs}; }
  bool operator==(const Event&) const = default;
};

// A kernel entry from user mode: a syscall, an exception from user mode, or an interrupt
// taken in user mode (args[1] == 1). Replay jumps from user mode straight to these.
bool is_user_entry(const Event& e);
// The thread (pid as ps shows it) that made a kernel entry from user mode; nullopt for other
// events and for recordings older than the pid field.
std::optional<uint64_t> entry_pid(const Event& e);

class Vmlinux;

// One line: "syscall vcpu=0 rip=0xffffffff81000000 nr=39 data=168B". With the recorded
// kernel, a kernel RIP is followed by its symbol: "rip=0xffffffff81000000 <do_syscall_64+0x10>".
std::string describe(const Event& e, const Vmlinux* kernel = nullptr);

}  // namespace kvmrr
