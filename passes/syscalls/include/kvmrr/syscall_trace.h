#pragma once
// A recording's kernel entries from user mode as a system-call trace, strace-like: each
// system call with its arguments decoded (strings and buffers from the user memory the
// kernel read, logged in the recording; flags by name) and the value it returned (from
// replay: DIR/returns); exceptions with their address; interrupts with their vector.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvmrr/event.h"
#include "kvmrr/user_returns.h"

namespace kvmrr {

struct TracedEntry {
  enum class Kind { Syscall, Exception, Interrupt };
  uint64_t index = 0;  // the entry's event index, as `kvm-rr dump --events` numbers it
  uint32_t vcpu = 0;
  std::optional<uint64_t> pid;
  Kind kind = Kind::Syscall;
  uint64_t number = 0;                 // system call number, exception or interrupt vector
  std::string name;                    // "openat", "page_fault", "interrupt"
  std::vector<std::string> args;       // decoded, in order
  std::vector<uint64_t> raw_args;      // as the registers held them
  std::vector<std::string> arg_types;  // each argument's C type, as the kernel declares it
  uint64_t user_rip = 0;               // where user mode entered the kernel
  // System calls: what replay saw the task return to user mode with.
  std::optional<uint64_t> rax;         // nullopt: unknown (see note)
  std::optional<uint64_t> resumed_at;  // set when user mode resumed elsewhere than user_rip
  std::string result;                  // "3", "-1 ENOENT", "0x7f00...", "?"
  std::string note;                    // why a result is missing or odd; may be empty

  // "openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3", strace's form.
  std::string call_text() const;
  // One JSON object (no newline).
  std::string json() const;
};

// Feed it a recording's events in order; it calls emit once per kernel entry from user mode,
// in event order, when what the entry read from user memory is known.
class SyscallTracer {
 public:
  using Emit = std::function<void(const TracedEntry&)>;
  // returns: nullptr when no replay wrote them (results print as "?").
  SyscallTracer(const UserReturns* returns, Emit emit);
  void add(const Event& e, uint64_t index);
  // The recording ended: the rest goes out, with "unfinished" where no return came.
  void finish();

 private:
  struct Read {
    uint64_t uaddr = 0;
    std::vector<uint8_t> bytes;
  };
  struct Open {
    Event entry;
    std::vector<Read> reads;  // user reads at a pointer argument (and their continuations)
    bool closed = false;
  };
  bool attach(Open& o, uint64_t uaddr, const Event& e, bool continuation);
  void close(uint64_t index);
  void flush();
  TracedEntry decode(uint64_t index, const Open& o) const;

  Emit emit_;
  bool have_returns_ = false;
  uint64_t returns_through_ = 0;                       // events the replay that wrote the returns went through
  std::unordered_map<uint64_t, UserReturn> returns_;   // by entry index
  std::map<uint64_t, Open> open_;                      // by index, until emitted
  std::vector<std::optional<uint64_t>> current_;       // per vCPU: its last entry from user mode
  std::unordered_map<uint64_t, uint64_t> unreturned_;  // pid -> its entry not followed by another
  bool finished_ = false;
};

// Decodes one argument of system call `call` (helpers the tracer uses; tested on their own).
std::string decode_open_flags(uint64_t flags);
std::string decode_mmap_prot(uint64_t prot);
std::string decode_mmap_flags(uint64_t flags);
// A quoted C string of bytes as strace prints them ("abc\n"), at most max bytes then "...".
std::string quote_bytes(const std::vector<uint8_t>& bytes, size_t max = 64, bool stop_at_nul = true);

}  // namespace kvmrr
