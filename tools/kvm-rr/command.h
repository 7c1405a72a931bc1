#pragma once
// One class per `kvm-rr` subcommand, as in rr: each knows its name, its help and how to run.
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace kvmrr {

// Exit statuses shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadRecording = 3;

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;  // one line for `kvm-rr --help`
  virtual std::string_view help() const = 0;     // full text for `kvm-rr CMD --help`
  // args exclude the program and command names.
  virtual int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) = 0;

  static const std::vector<std::unique_ptr<Command>>& all();
  static Command* find(std::string_view name);
};

// True when args holds -h or --help before any "--".
bool wants_help(const std::vector<std::string>& args);

std::unique_ptr<Command> make_dump_command();
std::unique_ptr<Command> make_run_command();
std::unique_ptr<Command> make_record_command();
std::unique_ptr<Command> make_check_command();
std::unique_ptr<Command> make_replay_command();
std::unique_ptr<Command> make_pmem_check_command();

}  // namespace kvmrr
