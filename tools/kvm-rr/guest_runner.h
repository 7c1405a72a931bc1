#pragma once
// Runs a GuestMachine's QEMU: the console is forwarded line by line, the guest's status
// report is picked out of it, and a quiet guest gets a heartbeat on stderr so a user sees
// it is alive. QEMU dies with us (PDEATHSIG) so a killed front end leaves no stray VM.
#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kvmrr {

struct GuestRunResult {
  int qemu_exit = -1;  // QEMU's exit status, or -1 if killed by a signal
  int qemu_signal = 0;
  std::optional<int> guest_status;  // what init reported for the command
  bool timed_out = false;
  bool kernel_panic = false;  // the console showed "Kernel panic"
  double seconds = 0;
};

struct GuestRunOptions {
  std::chrono::seconds timeout{0};  // 0: none
  std::chrono::seconds heartbeat{30};
  std::vector<std::pair<std::string, std::string>> env;  // added to QEMU's environment
};

GuestRunResult run_guest(const std::vector<std::string>& argv, const GuestRunOptions& options, std::ostream& console,
                         std::ostream& progress);

}  // namespace kvmrr
