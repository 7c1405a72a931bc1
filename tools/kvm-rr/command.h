#pragma once
// One class per `kvm-rr` subcommand, as in rr: each knows its name, its help and how to run.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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

// One option of a command's table (as rr's Command has one): its name and what it takes.
struct OptionSpec {
  enum class Takes { Nothing, Text, Number };
  std::string_view name;
  Takes takes = Takes::Nothing;
};

// What parse_options() read: options by name (a flag's value is empty; the last one given
// wins), numbers parsed, the other words in order, and the words after "--".
struct ParsedOptions {
  std::map<std::string, std::string, std::less<>> given;
  std::map<std::string, uint64_t, std::less<>> numbers;
  std::vector<std::string> positional;
  std::vector<std::string> command;  // after "--", when the command takes one
  bool dashdash = false;

  bool has(std::string_view name) const { return given.find(name) != given.end(); }
  std::string text(std::string_view name, std::string fallback = {}) const;
  uint64_t number(std::string_view name, uint64_t fallback) const;
};

// An option naming the recorded kernel's vmlinux (--vmlinux FILE): false, with the reason
// printed, when FILE is no regular file (a usage error, exit 2, in every command).
bool vmlinux_option_ok(std::string_view command_name, const std::string& path, std::ostream& err);

// Reads args by the table, for every command the same way: an option the table does not
// have, a missing value, or a Number that is not a decimal number (or does not fit 64
// bits) prints "kvm-rr COMMAND: ..." to err and returns false (the command exits
// kExitUsage). With command_after_dashdash, "--" ends the options and the rest is the
// guest command; otherwise "--" is an unknown option.
bool parse_options(std::string_view command, const std::vector<std::string>& args, const std::vector<OptionSpec>& table,
                   ParsedOptions& out, std::ostream& err, bool command_after_dashdash = false);

std::unique_ptr<Command> make_dump_command();
std::unique_ptr<Command> make_run_command();
std::unique_ptr<Command> make_record_command();
std::unique_ptr<Command> make_check_command();
std::unique_ptr<Command> make_replay_command();
std::unique_ptr<Command> make_pmem_check_command();
std::unique_ptr<Command> make_syscalls_command();
std::unique_ptr<Command> make_branches_command();

}  // namespace kvmrr
