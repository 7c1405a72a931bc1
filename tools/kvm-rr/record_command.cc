// kvm-rr record: boot the default guest and record its kernel while one command runs.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "guest_args.h"
#include "install.h"
#include "kvmrr/memory_digest.h"
#include "kvmrr/recording.h"

namespace kvmrr {
namespace {

namespace fs = std::filesystem;

class RecordCommand : public Command {
 public:
  std::string_view name() const override { return "record"; }
  std::string_view summary() const override { return "record the guest kernel while a command runs"; }
  std::string_view help() const override {
    static const std::string text =
        std::string(
            "usage: kvm-rr record [OPTIONS] -o DIR -- CMD...\n\n"
            "Boots the default guest and records its kernel into the new directory DIR:\n"
            "the recording starts just before CMD runs (as root, via `sh -c`) and ends just\n"
            "after. DIR then holds meta.json, the machine snapshot and the event stream\n"
            "(see kvm-rr dump). Exits with CMD's status.\n\n"
            "  -o DIR       the recording to create (must not exist, or be empty)\n"
            "  --checksum WHEN  memory digests replay checks (docs/memory-digests.md): end\n"
            "               (default: when the guest stops recording), checkpoints (also after\n"
            "               each kvm-rr-checkpoint), N (also every N events), off. With any but\n"
            "               off the guest boots with init_on_free=1\n") +
        kGuestOptionsHelp +
        "\nExit status: CMD's status; 124 on timeout; 125 when the guest or the recording\n"
        "failed (the reason is printed).\n";
    return text;
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    GuestArgs ga;
    ParsedOptions own;
    if (!parse_guest_args(name(), args, ga, err,
                          {{"-o", OptionSpec::Takes::Text}, {"--checksum", OptionSpec::Takes::Text}}, &own)) {
      return kExitUsage;
    }
    std::string checksum = own.text("--checksum", "end");
    DigestPolicy digests;
    try {
      digests = DigestPolicy::parse(checksum);
    } catch (const std::invalid_argument& e) {
      fmt::print(err, "kvm-rr record: {}\n", e.what());
      return kExitUsage;
    }
    if (digests.mode != DigestPolicy::Mode::Off) {
      // A freed page is zeroed, so no user data (which replay never has) lingers in the
      // free parts of the kernel's next allocations from it.
      ga.guest.kernel_args += ga.guest.kernel_args.empty() ? "init_on_free=1" : " init_on_free=1";
    }
    std::string dir_arg = own.text("-o");
    if (dir_arg.empty()) {
      fmt::print(err, "kvm-rr record: say where the recording goes with -o DIR\n");
      return kExitUsage;
    }
    std::error_code ec;
    fs::path dir = fs::absolute(dir_arg, ec);
    if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
      fmt::print(err, "kvm-rr record: {} already exists; pick a new directory\n", dir.string());
      return kExitUsage;
    }
    ga.guest.recording_dir = dir.string();

    int prepared = kExitOk;
    std::optional<GuestMachine> machine = prepare_guest(name(), ga, err, &prepared);
    if (!machine) return prepared;
    ga.run.env = {{"KVMRR_VMLINUX", machine->install().vmlinux.string()},
                  {"KVMRR_GUEST_COMMAND", ga.guest.command},
                  {"KVMRR_CHECKSUM", checksum}};
    if (ga.guest.pmem_mb > 0) {
      ga.run.env.emplace_back("KVMRR_PMEM",
                              fmt::format("{}:{}", machine->pmem_offset_mb() << 20, ga.guest.pmem_mb << 20));
    }
    GuestRunResult r = run_prepared_guest(name(), *machine, ga, out, err);
    int status = guest_exit_status(name(), r, ga.run, err);
    if (status == kExitTimeout || status == kExitGuestFailed) return status;

    // The command ran; the recording must be whole, or the run failed. The recorder says so
    // in meta.json once it has sealed the stream (`kvm-rr check` reads every frame).
    try {
      Recording rec = Recording::open(dir);
      const RecordingMeta& m = rec.meta();
      if (m.state != "complete" || !m.events) {
        fmt::print(err, "kvm-rr record: {}: not complete (state \"{}\"{})\n", rec.meta_path().string(), m.state,
                   !m.failure.empty()        ? ": " + m.failure
                   : !m.abort_reason.empty() ? ": " + m.abort_reason
                                             : "");
        return kExitGuestFailed;
      }
      fmt::print(err, "kvm-rr record: {}: {} events, {:.1f} MiB snapshot, {:.1f} s\n", dir.string(), *m.events,
                 double(fs::file_size(rec.snapshot_path(), ec)) / (1 << 20), r.seconds);
    } catch (const RecordingError& e) {
      fmt::print(err, "kvm-rr record: the recording is not usable: {}\n", e.what());
      return kExitGuestFailed;
    }
    return status;
  }
};

}  // namespace

std::unique_ptr<Command> make_record_command() { return std::make_unique<RecordCommand>(); }

}  // namespace kvmrr
