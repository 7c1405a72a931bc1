#pragma once
// Options every command that boots the default guest takes (run, record), parsed one way.
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "command.h"
#include "guest_machine.h"
#include "guest_runner.h"

namespace kvmrr {

struct GuestArgs {
  GuestOptions guest;
  GuestRunOptions run;
  bool verbose = false;
  std::vector<std::string> command;  // CMD... after "--"
};

// Help text for the shared options.
extern const char* const kGuestOptionsHelp;

// Parses args into out by the shared option table plus the command's own (read back from
// *own_out). Prints errors to err and returns false on bad usage.
bool parse_guest_args(std::string_view command_name, const std::vector<std::string>& args, GuestArgs& out,
                      std::ostream& err, const std::vector<OptionSpec>& own = {}, ParsedOptions* own_out = nullptr);

// The machine for parsed args, with the installation located: nullopt when something is
// not built (exit kExitFailure) or the options are impossible (kExitUsage), with the
// reason printed to err; *status says which.
std::optional<GuestMachine> prepare_guest(std::string_view command_name, const GuestArgs& args, std::ostream& err,
                                          int* status);

// Runs the machine's QEMU with env (KVMRR_LIB is added), printing the command line first
// with --verbose.
GuestRunResult run_prepared_guest(std::string_view command_name, const GuestMachine& machine, GuestArgs& args,
                                  std::ostream& out, std::ostream& err);

// Exit status for a finished guest run: the command's status, or 124/125 with the reason
// printed to err.
int guest_exit_status(std::string_view command_name, const GuestRunResult& r, const GuestRunOptions& options,
                      std::ostream& err);
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitGuestFailed = 125;

}  // namespace kvmrr
