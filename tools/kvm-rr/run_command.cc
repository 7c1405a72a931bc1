// kvm-rr run: boot the default guest, run one command in it, exit with its status.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "guest_args.h"
#include "install.h"

namespace kvmrr {
namespace {

class RunCommand : public Command {
 public:
  std::string_view name() const override { return "run"; }
  std::string_view summary() const override { return "boot the guest and run a command in it"; }
  std::string_view help() const override {
    static const std::string text = std::string(
        "usage: kvm-rr run [OPTIONS] -- CMD...\n\n"
        "Boots the default guest (kvm-rr's kernel, ext4 root on virtio-blk, /dev/pmem0,\n"
        "/tmp on tmpfs) with the patched QEMU, runs CMD as root via `sh -c`, powers off\n"
        "and exits with CMD's status. Nothing is recorded. One CMD argument is a shell\n"
        "script as it is; several are quoted as separate words.\n\n") +
        kGuestOptionsHelp +
        "\nExit status: CMD's status; 124 on timeout; 125 when the guest did not report\n"
        "one (kernel panic, QEMU failure).\n";
    return text;
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    GuestArgs ga;
    if (!parse_guest_args(name(), args, ga, err)) return kExitUsage;
    Install install = Install::locate();
    if (std::string missing = install.missing(); !missing.empty()) {
      fmt::print(err, "kvm-rr run: not everything is built:\n{}", missing);
      return kExitFailure;
    }
    std::optional<GuestMachine> machine;
    try {
      machine.emplace(install, ga.guest);
    } catch (const std::invalid_argument& e) {
      fmt::print(err, "kvm-rr run: {}\n", e.what());
      return kExitUsage;
    }
    auto argv = machine->qemu_argv();
    if (ga.verbose) {
      fmt::print(err, "kvm-rr run: KVMRR_LIB={} {}\n", install.core_lib.string(),
                 GuestMachine::shell_command(argv));
    }
    ga.run.env.emplace_back("KVMRR_LIB", install.core_lib.string());
    GuestRunResult r = run_guest(argv, ga.run, out, err);
    return guest_exit_status(name(), r, ga.run, err);
  }
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace kvmrr
