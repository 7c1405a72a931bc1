// kvm-rr run: boot the default guest, run one command in it, exit with its status.
#include <charconv>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "guest_machine.h"
#include "guest_runner.h"
#include "install.h"

namespace kvmrr {
namespace {

inline constexpr int kExitGuestFailed = 125;

bool parse_u64(const std::string& s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

class RunCommand : public Command {
 public:
  std::string_view name() const override { return "run"; }
  std::string_view summary() const override { return "boot the guest and run a command in it"; }
  std::string_view help() const override {
    return "usage: kvm-rr run [--accel tcg|kvm] [-m MB] [--smp N] [--pmem MB] [--timeout S]\n"
           "                  [--verbose] -- CMD...\n\n"
           "Boots the default guest (kvm-rr's kernel, ext4 root on virtio-blk, /dev/pmem0,\n"
           "/tmp on tmpfs) with the patched QEMU, runs CMD as root via `sh -c`, powers off\n"
           "and exits with CMD's status. Nothing is recorded. One CMD argument is a shell\n"
           "script as it is; several are quoted as separate words.\n\n"
           "  --accel A    tcg (default) or kvm\n"
           "  -m MB        guest memory, including the pmem region (default 1024)\n"
           "  --smp N      vCPUs (default 1)\n"
           "  --pmem MB    size of /dev/pmem0 (default 128; 0 for none)\n"
           "  --timeout S  kill the guest after S seconds (exit 124)\n"
           "  --verbose    print the QEMU command line\n\n"
           "Exit status: CMD's status; 124 on timeout; 125 when the guest did not report\n"
           "one (kernel panic, QEMU failure).\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    GuestOptions opts;
    GuestRunOptions run_opts;
    bool verbose = false;
    std::vector<std::string> cmd;
    for (size_t i = 0; i < args.size(); i++) {
      const std::string& a = args[i];
      auto value = [&](uint64_t& v) {
        if (i + 1 >= args.size() || !parse_u64(args[i + 1], v)) {
          fmt::print(err, "kvm-rr run: {} needs a number\n", a);
          return false;
        }
        i++;
        return true;
      };
      uint64_t v = 0;
      if (a == "--") {
        cmd.assign(args.begin() + long(i) + 1, args.end());
        break;
      } else if (a == "--accel" && i + 1 < args.size()) {
        opts.accel = args[++i];
      } else if (a == "-m") {
        if (!value(opts.memory_mb)) return kExitUsage;
      } else if (a == "--smp") {
        if (!value(v)) return kExitUsage;
        opts.smp = uint32_t(v);
      } else if (a == "--pmem") {
        if (!value(opts.pmem_mb)) return kExitUsage;
      } else if (a == "--timeout") {
        if (!value(v)) return kExitUsage;
        run_opts.timeout = std::chrono::seconds(v);
      } else if (a == "--verbose") {
        verbose = true;
      } else {
        fmt::print(err, "kvm-rr run: unexpected argument '{}'\n{}", a, help());
        return kExitUsage;
      }
    }
    if (cmd.empty()) {
      fmt::print(err, "kvm-rr run: no command given (put it after --)\n");
      return kExitUsage;
    }
    opts.command = GuestMachine::shell_command(cmd);

    Install install = Install::locate();
    if (std::string missing = install.missing(); !missing.empty()) {
      fmt::print(err, "kvm-rr run: not everything is built:\n{}", missing);
      return kExitFailure;
    }
    std::optional<GuestMachine> machine;
    try {
      machine.emplace(install, opts);
    } catch (const std::invalid_argument& e) {
      fmt::print(err, "kvm-rr run: {}\n", e.what());
      return kExitUsage;
    }
    auto argv = machine->qemu_argv();
    if (verbose) {
      fmt::print(err, "kvm-rr run: KVMRR_LIB={} {}\n", install.core_lib.string(),
                 GuestMachine::shell_command(argv));
    }
    run_opts.env.emplace_back("KVMRR_LIB", install.core_lib.string());
    GuestRunResult r = run_guest(argv, run_opts, out, err);
    if (r.timed_out) {
      fmt::print(err, "kvm-rr run: guest killed after the {} s timeout\n", run_opts.timeout.count());
      return 124;
    }
    if (!r.guest_status) {
      std::string why = r.kernel_panic ? "the guest kernel panicked"
                        : r.qemu_signal ? fmt::format("QEMU was killed by signal {}", r.qemu_signal)
                                        : fmt::format("QEMU exited with status {}", r.qemu_exit);
      fmt::print(err, "kvm-rr run: the guest did not report the command's status: {}\n", why);
      return kExitGuestFailed;
    }
    if (r.qemu_exit != *r.guest_status) {
      fmt::print(err, "kvm-rr run: guest reported status {} but QEMU exited with {}\n",
                 *r.guest_status, r.qemu_exit);
      return kExitGuestFailed;
    }
    return *r.guest_status;
  }
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace kvmrr
