// kvm-rr syscalls: a recording's kernel entries from user mode, strace-like.
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "kvmrr/recording.h"
#include "kvmrr/replay_verdict.h"
#include "kvmrr/syscall_table.h"
#include "kvmrr/syscall_trace.h"
#include "kvmrr/user_returns.h"

namespace kvmrr {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The names --name accepts: system calls, exception names, "interrupt".
bool known_name(const std::string& n) {
  if (n == "interrupt" || syscall_by_name(n)) return true;
  for (uint64_t v = 0; v < 32; v++) {
    if (exception_name(v) == n) return true;
  }
  return false;
}

class SyscallsCommand : public Command {
 public:
  std::string_view name() const override { return "syscalls"; }
  std::string_view summary() const override { return "a recording's system calls, strace-like"; }
  std::string_view help() const override {
    return "usage: kvm-rr syscalls [--json] [--pid PID,...] [--name NAME,...] [--no-replay]\n"
           "                      [--vmlinux FILE] DIR\n\n"
           "Prints one line per kernel entry from user mode in recording DIR, in log order:\n"
           "  #INDEX vcpu=V pid=P openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\n"
           "system calls with their arguments decoded (paths and written bytes from the user\n"
           "memory the kernel read, which the recording holds; open and mmap flags by name)\n"
           "and the value they returned; exceptions with their address; interrupts taken in\n"
           "user mode with their vector. INDEX is the event's, as `kvm-rr dump --events`\n"
           "numbers it. Return values are the kernel's output, which replay sees: they come\n"
           "from DIR/returns, which every `kvm-rr replay DIR` writes; without one, this\n"
           "replays DIR first (progress on stderr). `= ?` with a note in parentheses when a\n"
           "return is unknown: the task exited, or the recording ended first.\n\n"
           "  --json          one JSON object per line: index, vcpu, pid, kind, name, number,\n"
           "                  args (decoded), raw_args, arg_types (C types), user_rip,\n"
           "                  return, result, note\n"
           "  --pid PID,...   only these threads (pid as ps shows it)\n"
           "  --name NAME,... only these system calls (or exception names such as\n"
           "                  page_fault, or interrupt)\n"
           "  --no-replay     do not replay for return values: print `= ?` where none is known\n"
           "  --vmlinux FILE  passed to the replay\n\n"
           "Exit status: 0; 1 when the replay for return values failed (the lines are still\n"
           "printed); 3 for an unusable recording; 2 for usage.\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    static const std::vector<OptionSpec> kOptions = {{"--json"},
                                                     {"--pid", OptionSpec::Takes::Text},
                                                     {"--name", OptionSpec::Takes::Text},
                                                     {"--no-replay"},
                                                     {"--vmlinux", OptionSpec::Takes::Text}};
    ParsedOptions o;
    if (!parse_options(name(), args, kOptions, o, err)) return kExitUsage;
    if (o.positional.size() != 1) {
      fmt::print(err, "{}", o.positional.empty() ? std::string(help()) : "kvm-rr syscalls: one recording at a time\n");
      return kExitUsage;
    }
    std::string dir = o.positional[0];
    std::set<uint64_t> pids;
    for (const std::string& p : split_commas(o.text("--pid"))) {
      char* end = nullptr;
      unsigned long long v = strtoull(p.c_str(), &end, 10);
      if (p.empty() || *end || p[0] == '-' || v == 0) {
        fmt::print(err, "kvm-rr syscalls: --pid {}: not a pid (a decimal number from 1)\n", p);
        return kExitUsage;
      }
      pids.insert(v);
    }
    if (o.has("--pid") && pids.empty()) {
      fmt::print(err, "kvm-rr syscalls: --pid needs at least one pid\n");
      return kExitUsage;
    }
    std::set<std::string> names;
    for (const std::string& n : split_commas(o.text("--name"))) {
      if (!known_name(n)) {
        fmt::print(err, "kvm-rr syscalls: --name {}: no x86_64 system call, exception or 'interrupt' has that name\n",
                   n);
        return kExitUsage;
      }
      names.insert(n);
    }
    if (o.has("--name") && names.empty()) {
      fmt::print(err, "kvm-rr syscalls: --name needs at least one name\n");
      return kExitUsage;
    }

    int status = kExitOk;
    try {
      Recording rec = Recording::open(dir);
      std::optional<UserReturns> returns = UserReturns::read(dir);
      if (!returns && !o.has("--no-replay")) {
        fmt::print(err, "kvm-rr syscalls: {} has no return values yet: replaying it first\n", dir);
        std::vector<std::string> replay_args;
        if (o.has("--vmlinux")) replay_args = {"--vmlinux", o.text("--vmlinux")};
        replay_args.push_back(dir);
        if (Command::find("replay")->run(replay_args, err, err) != kExitOk) {
          fmt::print(err, "kvm-rr syscalls: the replay did not finish cleanly: return values stop where it did\n");
          status = kExitFailure;
        }
        returns = UserReturns::read(dir);
      }
      if (returns) {
        std::optional<ReplayVerdict> verdict = ReplayVerdict::read(dir);
        if (verdict && verdict->result == ReplayVerdict::Result::Diverged) {
          fmt::print(err,
                     "kvm-rr syscalls: the replay that found the return values diverged at event {}: none after it\n",
                     verdict->divergence ? verdict->divergence->event_index : returns->events_replayed);
        }
      }
      bool json = o.has("--json");
      SyscallTracer tracer(returns ? &*returns : nullptr, [&](const TracedEntry& t) {
        if (!pids.empty() && (!t.pid || !pids.count(*t.pid))) return;
        if (!names.empty() && !names.count(t.name)) return;
        if (json) {
          out << t.json() << "\n";
        } else {
          fmt::print(out, "#{} vcpu={} pid={} {}\n", t.index, t.vcpu, t.pid ? fmt::format("{}", *t.pid) : "?",
                     t.call_text());
        }
      });
      auto reader = rec.open_events();
      Event e;
      while (reader->next(e)) tracer.add(e, reader->index());
      tracer.finish();
      if (!reader->end().complete) {
        fmt::print(err, "kvm-rr syscalls: {}: incomplete recording ({}): its {} readable events were listed\n", dir,
                   reader->end().reason, reader->end().events);
      }
    } catch (const RecordingError& error) {
      fmt::print(err, "kvm-rr syscalls: {}\n", error.what());
      return kExitBadRecording;
    }
    return status;
  }
};

}  // namespace

std::unique_ptr<Command> make_syscalls_command() { return std::make_unique<SyscallsCommand>(); }

}  // namespace kvmrr
