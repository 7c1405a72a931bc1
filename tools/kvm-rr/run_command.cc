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
    static const std::string text =
        std::string(
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
    int status = kExitOk;
    std::optional<GuestMachine> machine = prepare_guest(name(), ga, err, &status);
    if (!machine) return status;
    GuestRunResult r = run_prepared_guest(name(), *machine, ga, out, err);
    return guest_exit_status(name(), r, ga.run, err);
  }
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace kvmrr
