#pragma once
// What each task's kernel entries from user mode returned with, as replay saw it:
// <recording>/returns, written by the replay engine (replayer/) beside replay.json, read by
// `kvm-rr syscalls`. The recording cannot hold these: the recorder logs inputs, and a return
// value is the kernel's own output. Replay knows which task returned on a vCPU only at that
// task's next entry (user code cannot switch tasks without one), so an entry's return is
// known once the same task enters the kernel again; a task's last entry has none.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace kvmrr {

struct UserReturn {
  uint64_t entry_index = 0;  // the kernel entry (Syscall, Exception, Interrupt event) returned from
  uint64_t rax = 0;          // a system call's return value
  uint64_t rip = 0;          // where user mode resumed: the entry's own RIP unless the kernel
                             // changed it (execve, a signal handler, sigreturn, a restart)
  bool operator==(const UserReturn&) const = default;
};

struct UserReturns {
  static constexpr const char* kFile = "returns";

  std::vector<UserReturn> returns;  // in the order replay saw them
  uint64_t events_replayed = 0;     // how far the replay that wrote them went

  // Writes dir/returns atomically; throws RecordingError (Io).
  void write(const std::filesystem::path& dir) const;
  // Reads dir/returns: nullopt when there is none; throws RecordingError when it is corrupt,
  // truncated or of another version.
  static std::optional<UserReturns> read(const std::filesystem::path& dir);
};

}  // namespace kvmrr
