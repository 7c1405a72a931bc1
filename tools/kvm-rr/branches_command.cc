// kvm-rr branches: what the branch pass logged, symbolized; the call tree; Chrome JSON.
#include <fstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "install.h"
#include "kvmrr/branch_log.h"
#include "kvmrr/branch_report.h"
#include "kvmrr/recording.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {
namespace {

namespace fs = std::filesystem;

class BranchesCommand : public Command {
 public:
  std::string_view name() const override { return "branches"; }
  std::string_view summary() const override { return "the kernel branches a replay pass logged"; }
  std::string_view help() const override {
    return "usage: kvm-rr branches [--calls] [--chrome FILE] [--vmlinux FILE] DIR\n\n"
           "Prints what `kvm-rr replay --pass branches DIR` logged (DIR/branches/branches.log),\n"
           "one taken kernel branch per line, symbolized as gdb does (func+0xoff):\n"
           "  #EVENT vcpu=V pid=P KIND FROM -> TO\n"
           "KIND: call, return, jump, interrupt (an interrupt or exception in kernel mode),\n"
           "iret, to_user (SYSRET/IRET to user mode: replay runs no user code), entry (a\n"
           "kernel entry from user mode). EVENT: events replay had consumed.\n\n"
           "  --calls        the call tree instead: per function its calls (or, with *, the\n"
           "                 interrupts and entries that began there) and the instructions its\n"
           "                 calls executed, callees indented under callers (uftrace-like)\n"
           "  --chrome FILE  also write Chrome trace-event JSON (one complete event per call;\n"
           "                 ts and dur count instructions) for Perfetto or chrome://tracing\n"
           "  --vmlinux FILE the recorded kernel (default: build/kernel/vmlinux if it is the\n"
           "                 recording's)\n\n"
           "Exit status: 0; 3 when the log is missing, corrupt or cut short (a cut log is still\n"
           "printed); 2 for usage.\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    static const std::vector<OptionSpec> kOptions = {
        {"--calls"}, {"--chrome", OptionSpec::Takes::Text}, {"--vmlinux", OptionSpec::Takes::Text}};
    ParsedOptions o;
    if (!parse_options(name(), args, kOptions, o, err)) return kExitUsage;
    if (o.positional.size() != 1) {
      fmt::print(err, "{}", o.positional.empty() ? std::string(help()) : "kvm-rr branches: one recording at a time\n");
      return kExitUsage;
    }
    fs::path dir = o.positional[0];
    try {
      Recording rec = Recording::open(dir);
      fs::path vmlinux = o.has("--vmlinux") ? fs::path(o.text("--vmlinux")) : Install::locate().vmlinux;
      Vmlinux kernel = open_recorded_kernel(vmlinux, rec.meta().vmlinux_build_id);
      branches::LogReader log(dir / "branches" / "branches.log");
      auto sym = [&](uint64_t a) { return kernel.symbolize(a); };
      bool tree = o.has("--calls") || o.has("--chrome");
      branches::CallTreeBuilder builder(sym, o.has("--chrome"));
      for (branches::Record r; log.next(r);) {
        if (tree) builder.add(r);
        if (!o.has("--calls")) out << branches::format_record(r, sym) << "\n";
      }
      if (o.has("--calls")) out << branches::format_call_tree(builder.tree());
      if (o.has("--chrome")) {
        std::ofstream f(o.text("--chrome"));
        f << branches::chrome_trace(builder.tree()).dump() << "\n";
        if (!f) {
          fmt::print(err, "kvm-rr branches: cannot write {}\n", o.text("--chrome"));
          return kExitFailure;
        }
        fmt::print(err, "kvm-rr branches: {} calls and entries -> {}\n", builder.tree().spans.size(),
                   o.text("--chrome"));
      }
      if (!log.complete()) {
        fmt::print(err, "kvm-rr branches: {}/branches/branches.log was cut short: {} branches read\n", dir.string(),
                   log.records());
        return kExitBadRecording;
      }
    } catch (const RecordingError& e) {
      fmt::print(err, "kvm-rr branches: {}\n", e.what());
      return kExitBadRecording;
    }
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> make_branches_command() { return std::make_unique<BranchesCommand>(); }

}  // namespace kvmrr
