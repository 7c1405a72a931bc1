// kvm-rr replay: replay a recording's guest kernel in the patched QEMU (TCG) and say whether
// it followed the log to the end.

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "branches_pass.h"
#include "command.h"
#include "guest_args.h"
#include "guest_runner.h"
#include "install.h"
#include "kvmrr/pmem_log.h"
#include "kvmrr/recording.h"
#include "kvmrr/replay_verdict.h"
#include "kvmrr/vmlinux.h"
#include "pmem_pass.h"
#include "replay_machine.h"

namespace kvmrr {
namespace {

namespace fs = std::filesystem;

// One line on what the pmem pass logged; a log the plugin did not finish is a failure.
int report_pmem_pass(const fs::path& dir, std::ostream& out, std::ostream& err) {
  fs::path log_path = dir / "pmem" / "pmem.log";
  try {
    pmem::Log log = pmem::read_log(log_path);
    if (!log.complete) {
      fmt::print(err, "kvm-rr replay: {}: {}\n", log_path.string(), log.incomplete_reason);
      return kExitGuestFailed;
    }
    uint64_t n[7] = {};
    for (const auto& r : log.records) n[size_t(r.h.type)]++;
    fmt::print(out, "pmem pass: stores={} flushes={} fences={} (of {} executed) syscalls={} checkpoints={} -> {}\n",
               n[size_t(pmem::RecordType::Store)], n[size_t(pmem::RecordType::Flush)],
               n[size_t(pmem::RecordType::Fence)], log.fences_total, n[size_t(pmem::RecordType::Syscall)],
               n[size_t(pmem::RecordType::Checkpoint)], log_path.string());
    return kExitOk;
  } catch (const RecordingError& e) {
    fmt::print(err, "kvm-rr replay: the pmem pass left no usable log: {}\n", e.what());
    return kExitGuestFailed;
  }
}

// One line on what the branch pass logged; a log the plugin did not finish is a failure.
int report_branches_pass(const fs::path& dir, std::ostream& out, std::ostream& err) {
  fs::path log_path = dir / "branches" / "branches.log";
  try {
    branches::LogReader log(log_path);
    uint64_t calls = 0;
    for (branches::Record r; log.next(r);) calls += r.kind == branches::Kind::Call;
    if (!log.complete()) {
      fmt::print(err, "kvm-rr replay: {}: cut short\n", log_path.string());
      return kExitGuestFailed;
    }
    fmt::print(out, "branches pass: branches={} calls={} instructions={} -> {}\n", log.records(), calls,
               log.instructions(), log_path.string());
    return kExitOk;
  } catch (const RecordingError& e) {
    fmt::print(err, "kvm-rr replay: the branch pass left no usable log: {}\n", e.what());
    return kExitGuestFailed;
  }
}

class ReplayCommand : public Command {
 public:
  std::string_view name() const override { return "replay"; }
  std::string_view summary() const override { return "replay a recording's guest kernel and check it"; }
  std::string_view help() const override {
    return "usage: kvm-rr replay [--vmlinux FILE] [--pass pmem|branches] [--timeout SEC] [--verbose] DIR\n"
           "       kvm-rr replay --pass branches [--from EVENT] [--to EVENT] [--pid PID]\n"
           "                     [--entry SYSCALL[:N]] DIR\n\n"
           "Replays the guest kernel of recording DIR in QEMU's TCG emulator: the machine\n"
           "starts from the recording's snapshot, only the kernel runs, and every logged\n"
           "input is fed back where the kernel consumed it; each event is checked (RIP and\n"
           "registers). Ends with one summary line,\n"
           "  replay: OK events=N kernel_entries=N seconds=S\n"
           "  replay: DIVERGED at event=N vcpu=V: ...   (a report precedes it)\n"
           "and writes DIR/replay.json.\n\n"
           "  --vmlinux FILE   the recorded kernel's vmlinux (default: build/kernel/vmlinux;\n"
           "                   its build-id must be the recording's)\n"
           "  --pass pmem      run the persistent-memory pass during the replay: every store,\n"
           "                   flush and fence on the guest's pmem, and its syscalls, into\n"
           "                   DIR/pmem/pmem.log (kvm-rr pmem-check reads it)\n"
           "  --pass branches  log every taken kernel branch (call, return, jump, interrupt,\n"
           "                   iret, return to user, entry from user) into\n"
           "                   DIR/branches/branches.log (kvm-rr branches reads it); its window:\n"
           "    --from EVENT / --to EVENT   from when replay reaches event EVENT (the index\n"
           "                   kvm-rr dump --events and kvm-rr syscalls print) to when it\n"
           "                   reaches the other (default: all of the replay)\n"
           "    --pid PID      only while thread PID runs (as the entries from user mode tell)\n"
           "    --entry SYSCALL[:N]   the Nth (default 1st) entry of system call SYSCALL (of\n"
           "                   --pid PID if given), from that entry to its thread's next one\n"
           "  --timeout SEC    give up after SEC seconds (exit 124)\n"
           "  --gdb PORT       the replaying kernel waits for gdb on localhost:PORT before its\n"
           "                   first instruction (QEMU's gdb stub: breakpoints, registers,\n"
           "                   memory at any point of the replay)\n"
           "  --state-log FILE at each memory digest it checks, write a hash of every RAM page\n"
           "                   (user and free pages too) into FILE: two replays that did the\n"
           "                   same thing write the same file (tools/mutation-campaign uses it)\n"
           "  --verbose        print the QEMU command line\n\n"
           "Exit status: 0 when every event replayed without divergence (for an incomplete\n"
           "recording: its whole readable prefix); 1 on divergence; 3 for an unusable\n"
           "recording; 124 on timeout; 125 when QEMU failed without a verdict.\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    static const std::vector<OptionSpec> kOptions = {{"--vmlinux", OptionSpec::Takes::Text},
                                                     {"--timeout", OptionSpec::Takes::Number},
                                                     {"--pass", OptionSpec::Takes::Text},
                                                     {"--gdb", OptionSpec::Takes::Number},
                                                     {"--verbose"},
                                                     {"--from", OptionSpec::Takes::Number},
                                                     {"--to", OptionSpec::Takes::Number},
                                                     {"--pid", OptionSpec::Takes::Number},
                                                     {"--entry", OptionSpec::Takes::Text},
                                                     {"--state-log", OptionSpec::Takes::Text}};
    ParsedOptions o;
    if (!parse_options(name(), args, kOptions, o, err)) return kExitUsage;
    std::string vmlinux_arg = o.text("--vmlinux"), pass = o.text("--pass"), gdb_port = o.text("--gdb");
    bool verbose = o.has("--verbose");
    GuestRunOptions options;
    options.heartbeat = std::chrono::seconds(30);
    if (o.has("--timeout")) {
      if (o.number("--timeout", 0) == 0) {
        fmt::print(err, "kvm-rr replay: --timeout needs seconds above 0 (leave it out for no limit)\n");
        return kExitUsage;
      }
      options.timeout = std::chrono::seconds(o.number("--timeout", 0));
    }
    if (o.has("--pass") && pass != "pmem" && pass != "branches") {
      fmt::print(err, "kvm-rr replay: unknown pass '{}' (passes: pmem, branches)\n", pass);
      return kExitUsage;
    }
    bool windowed = o.has("--from") || o.has("--to") || o.has("--pid") || o.has("--entry");
    if (windowed && pass != "branches") {
      fmt::print(err,
                 "kvm-rr replay: --from, --to, --pid and --entry choose the branch pass's window: "
                 "they go with --pass branches\n");
      return kExitUsage;
    }
    if (o.has("--entry") && (o.has("--from") || o.has("--to"))) {
      fmt::print(err, "kvm-rr replay: --entry is a window of its own: not with --from or --to\n");
      return kExitUsage;
    }
    branches::Window window;
    window.from_event = o.number("--from", 0);
    window.to_event = o.number("--to", UINT64_MAX);
    window.pid = o.number("--pid", 0);
    if (o.has("--pid") && window.pid == 0) {
      fmt::print(err, "kvm-rr replay: --pid 0: threads are numbered from 1 (leave --pid out for all of them)\n");
      return kExitUsage;
    }
    if (window.from_event >= window.to_event) {
      fmt::print(err, "kvm-rr replay: --from {} is not before --to {}\n", window.from_event, window.to_event);
      return kExitUsage;
    }
    std::string entry_name;
    uint64_t entry_nth = 1;
    if (o.has("--entry")) {
      entry_name = o.text("--entry");
      if (size_t colon = entry_name.find(':'); colon != std::string::npos) {
        std::string n = entry_name.substr(colon + 1);
        char* end = nullptr;
        entry_nth = strtoull(n.c_str(), &end, 10);
        if (n.empty() || *end || entry_nth == 0) {
          fmt::print(err, "kvm-rr replay: --entry {}: N counts entries from 1\n", entry_name);
          return kExitUsage;
        }
        entry_name.resize(colon);
      }
    }
    if (o.has("--gdb") && (o.number("--gdb", 0) == 0 || o.number("--gdb", 0) > 65535)) {
      fmt::print(err, "kvm-rr replay: --gdb needs a TCP port number (1-65535)\n");
      return kExitUsage;
    }
    if (o.has("--state-log")) {
      // Refused before QEMU boots, not after: the replay would be lost for a typo.
      FILE* f = fopen(o.text("--state-log").c_str(), "w");
      if (!f) {
        fmt::print(err, "kvm-rr replay: --state-log {}: cannot create: {}\n", o.text("--state-log"), strerror(errno));
        return kExitUsage;
      }
      fclose(f);
    }
    if (o.positional.size() > 1) {
      fmt::print(err, "kvm-rr replay: one recording at a time\n");
      return kExitUsage;
    }
    if (o.positional.empty()) {
      fmt::print(err, "{}", help());
      return kExitUsage;
    }
    std::string dir_arg = o.positional[0];
    Install inst = Install::locate();
    if (!vmlinux_arg.empty()) {
      // A path the user gave is not a build step to run: say what is wrong with it.
      if (!vmlinux_option_ok(name(), vmlinux_arg, err)) return kExitUsage;
      inst.vmlinux = vmlinux_arg;
    }
    std::string missing = inst.missing();
    if (!missing.empty()) {
      fmt::print(err, "kvm-rr replay: not built yet:\n{}", missing);
      return kExitFailure;
    }
    std::error_code ec;
    fs::path dir = fs::absolute(dir_arg, ec);
    std::vector<std::string> argv;
    try {
      Recording rec = Recording::open(dir);
      // The hooks are found in the recorded kernel: a wrong vmlinux is refused up front.
      if (rec.meta().vmlinux_build_id.empty()) {
        // Recorded from the monitor before recordings named their kernel: only the user knows
        // it. Replay still checks every event; a wrong kernel diverges at once.
        if (vmlinux_arg.empty()) {
          fmt::print(err,
                     "kvm-rr replay: {}: the recording does not name its kernel (no build-id in meta.json); "
                     "give the recorded kernel's vmlinux with --vmlinux FILE\n",
                     dir.string());
          return kExitUsage;
        }
        fmt::print(err, "kvm-rr replay: warning: the recording does not name its kernel; replaying with {} as given\n",
                   vmlinux_arg);
      }
      open_recorded_kernel(inst.vmlinux, rec.meta().vmlinux_build_id);
      // A corrupt stream is found here, in well under a second, rather than by QEMU after
      // it loaded the snapshot. A truncated one (a killed recorder) reads to its last whole
      // frame and replays that far.
      {
        auto reader = rec.open_events();
        Event e;
        while (reader->next(e)) {}
        // Events are logged only once the snapshot is whole: an incomplete stream without
        // one is a recorder killed while (or right after) it wrote the snapshot, which QEMU
        // could not load, and there would be nothing to replay anyway.
        if (!reader->end().complete && reader->end().events == 0) {
          fmt::print(err,
                     "kvm-rr replay: {}: the recorder was killed before its first event, while or right after it "
                     "wrote the snapshot: nothing to replay\n",
                     dir.string());
          return kExitBadRecording;
        }
      }
      argv = replay_command_line(rec, inst);
      if (pass == "pmem") {
        auto plugin = pmem_pass_qemu_args(rec, inst);
        argv.insert(argv.end(), plugin.begin(), plugin.end());
      }
      if (pass == "branches") {
        if (!entry_name.empty()) {
          try {
            window = entry_window(rec, entry_name, entry_nth, window.pid);
          } catch (const std::invalid_argument& e) {
            fmt::print(err, "kvm-rr replay: --entry {}: {}\n", o.text("--entry"), e.what());
            return kExitUsage;
          }
          fmt::print(err, "kvm-rr replay: --entry {}: events {} to {}, pid {}\n", o.text("--entry"),
                     window.from_event - 1,
                     window.to_event == UINT64_MAX ? std::string("the end") : fmt::format("{}", window.to_event - 1),
                     window.pid);
        }
        auto plugin = branches_pass_qemu_args(rec, inst, window);
        argv.insert(argv.end(), plugin.begin(), plugin.end());
      }
      if (!gdb_port.empty()) {
        argv.insert(argv.end(), {"-gdb", "tcp:localhost:" + gdb_port, "-S"});
      }
    } catch (const RecordingError& e) {
      fmt::print(err, "kvm-rr replay: {}\n", e.what());
      return kExitBadRecording;
    }
    fs::path verdict = dir / ReplayVerdict::kFile;
    fs::remove(verdict, ec);
    options.env = {{"KVMRR_LIB", inst.core_lib.string()}, {"KVMRR_VMLINUX", inst.vmlinux.string()}};
    if (o.has("--state-log")) options.env.push_back({"KVMRR_STATE_LOG", fs::absolute(o.text("--state-log")).string()});
    if (verbose) {
      std::string line = "env";
      for (const auto& [k, v] : options.env) line += fmt::format(" {}={}", k, v);
      for (const auto& a : argv) line += " '" + a + "'";
      fmt::print(err, "kvm-rr replay: {}\n", line);
    }
    if (!gdb_port.empty()) {
      fmt::print(err, "kvm-rr replay: the replaying kernel waits for a debugger: gdb {} -ex 'target remote :{}'\n",
                 inst.vmlinux.string(), gdb_port);
    }
    GuestRunResult r = run_guest(argv, options, out, err);
    if (r.timed_out) {
      fmt::print(out, "replay: DIVERGED at event=? (timed out after {:.0f} s without a verdict)\n", r.seconds);
      return kExitTimeout;
    }

    std::optional<ReplayVerdict> v = ReplayVerdict::read(dir);
    if (!v) {
      fmt::print(err, "kvm-rr replay: QEMU ended ({}) without a verdict in {}\n",
                 r.qemu_signal ? fmt::format("signal {}", r.qemu_signal) : fmt::format("exit {}", r.qemu_exit),
                 verdict.string());
      return kExitGuestFailed;
    }
    using Result = ReplayVerdict::Result;
    if (v->result == Result::Ok || v->result == Result::Incomplete) {
      fmt::print(
          out, "replay: OK events={} kernel_entries={} seconds={:.2f}{}{}\n", v->events_replayed, v->kernel_entries,
          v->seconds,
          v->memory_digests_checked ? fmt::format(" memory_digests={}", v->memory_digests_checked) : std::string(),
          v->result == Result::Ok ? "" : fmt::format(" (prefix of an incomplete recording: {})", v->incomplete_reason));
      if (pass == "pmem" && r.qemu_exit == 0) return report_pmem_pass(dir, out, err);
      if (pass == "branches" && r.qemu_exit == 0) return report_branches_pass(dir, out, err);
      return r.qemu_exit == 0 ? kExitOk : kExitGuestFailed;
    }
    if (v->result == Result::Diverged && v->divergence) {
      fmt::print(out, "replay: DIVERGED at event={} vcpu={}: {}\n", v->divergence->event_index, v->divergence->vcpu,
                 v->divergence->what);
      return kExitFailure;
    }
    fmt::print(out, "replay: DIVERGED at event={} ({})\n", v->events_replayed,
               "replay stopped before the end of the log without a divergence");
    return kExitGuestFailed;
  }
};

}  // namespace

std::unique_ptr<Command> make_replay_command() { return std::make_unique<ReplayCommand>(); }

}  // namespace kvmrr
