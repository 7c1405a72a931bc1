#include "guest_args.h"
#include "kvm_host.h"

#include <charconv>

#include "command.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

namespace kvmrr {

const char* const kGuestOptionsHelp =
    "  --accel A    tcg (default) or kvm\n"
    "  -m MB        guest memory, including the pmem region (default 1024)\n"
    "  --smp N      vCPUs (default 1)\n"
    "  --pmem MB    size of /dev/pmem0 (default 128; 0 for none)\n"
    "  --timeout S  kill the guest after S seconds (exit 124)\n"
    "  --kernel-args ARGS  appended to the guest kernel's command line (e.g. kvmrr_serialize:\n"
    "               one CPU in the kernel at a time)\n"
    "  --verbose    print the QEMU command line\n";

bool parse_guest_args(std::string_view name, const std::vector<std::string>& args, GuestArgs& out, std::ostream& err,
                      const std::vector<OptionSpec>& own, ParsedOptions* own_out) {
  std::vector<OptionSpec> table = {{"--accel", OptionSpec::Takes::Text},
                                   {"-m", OptionSpec::Takes::Number},
                                   {"--smp", OptionSpec::Takes::Number},
                                   {"--pmem", OptionSpec::Takes::Number},
                                   {"--timeout", OptionSpec::Takes::Number},
                                   {"--kernel-args", OptionSpec::Takes::Text},
                                   {"--verbose"}};
  table.insert(table.end(), own.begin(), own.end());
  ParsedOptions o;
  if (!parse_options(name, args, table, o, err, true)) return false;
  if (!o.positional.empty()) {
    fmt::print(err, "kvm-rr {}: unexpected argument '{}' (put the command after --; see kvm-rr {} --help)\n", name,
               o.positional[0], name);
    return false;
  }
  out.guest.accel = o.text("--accel", out.guest.accel);
  out.guest.memory_mb = o.number("-m", out.guest.memory_mb);
  // Here, before the KVM diagnosis: a bad value is named whatever the host's KVM is.
  if (uint64_t smp = o.number("--smp", out.guest.smp); smp < 1 || smp > 8) {
    fmt::print(err, "kvm-rr {}: --smp must be between 1 and 8 (not {})\n", name, smp);
    return false;
  }
  out.guest.smp = uint32_t(o.number("--smp", out.guest.smp));
  out.guest.pmem_mb = o.number("--pmem", out.guest.pmem_mb);
  if (o.has("--timeout")) {
    if (o.number("--timeout", 0) == 0) {
      fmt::print(err, "kvm-rr {}: --timeout needs seconds above 0 (leave it out for no limit)\n", name);
      return false;
    }
    out.run.timeout = std::chrono::seconds(o.number("--timeout", 0));
  }
  out.guest.kernel_args = o.text("--kernel-args", out.guest.kernel_args);
  out.verbose = o.has("--verbose");
  out.command = o.command;
  if (own_out) *own_out = o;
  if (out.command.empty()) {
    fmt::print(err, "kvm-rr {}: no command given (put it after --)\n", name);
    return false;
  }
  out.guest.command = GuestMachine::shell_command(out.command);
  return true;
}

int guest_exit_status(std::string_view name, const GuestRunResult& r, const GuestRunOptions& options,
                      std::ostream& err) {
  if (r.timed_out) {
    fmt::print(err, "kvm-rr {}: guest killed after the {} s timeout\n", name, options.timeout.count());
    return kExitTimeout;
  }
  if (!r.guest_status) {
    // -no-reboot turns a guest reset (a triple fault: the guest kernel could not even
    // report a panic) into QEMU exiting 0; QEMU's own line above names the vCPU.
    std::string why = r.kernel_panic     ? "the guest kernel panicked"
                      : r.qemu_signal    ? fmt::format("QEMU was killed by signal {}", r.qemu_signal)
                      : r.qemu_exit == 0 ? "QEMU exited with status 0: the guest reset (a triple fault?) or powered off"
                                         : fmt::format("QEMU exited with status {}", r.qemu_exit);
    fmt::print(err, "kvm-rr {}: the guest did not report the command's status: {}\n", name, why);
    return kExitGuestFailed;
  }
  if (r.qemu_exit != *r.guest_status) {
    fmt::print(err, "kvm-rr {}: guest reported status {} but QEMU exited with {}\n", name, *r.guest_status,
               r.qemu_exit);
    return kExitGuestFailed;
  }
  return *r.guest_status;
}

std::optional<GuestMachine> prepare_guest(std::string_view name, const GuestArgs& args, std::ostream& err,
                                          int* status) {
  Install install = Install::locate();
  if (std::string missing = install.missing(); !missing.empty()) {
    fmt::print(err, "kvm-rr {}: not everything is built:\n{}", name, missing);
    *status = kExitFailure;
    return std::nullopt;
  }
  if (args.guest.accel == "kvm") {
    KvmDiagnosis kvm = diagnose_kvm();
    if (kvm.kind == KvmDiagnosis::Kind::Software && name == "run") {
      fmt::print(err, "kvm-rr {}: warning: {}\n", name, kvm.explanation);  // slow, but it runs
    } else if (kvm.kind != KvmDiagnosis::Kind::Usable) {
      fmt::print(err, "kvm-rr {}: {}\n", name, kvm.explanation);
      *status = kExitUsage;
      return std::nullopt;
    }
  }
  GuestOptions guest = args.guest;
  if (guest.accel == "kvm") {
    // Without it the guest may find no way to calibrate its TSC (the nested lab has no PIT it
    // can trust and no HPET) and keep time by jiffies: a clock as coarse as its tick, which
    // with several vCPUs advances only as ticks reach sync points. Under KVM the guest's TSC
    // runs at the host's rate, and KVM starts a VM's vCPUs on one TSC (tsc=reliable skips the
    // boot-time warp check, which vCPUs time-sharing one host CPU fail); every TSC read is
    // logged, so replay sees the same clock.
    if (auto khz = kvm_tsc_khz()) guest.tsc_khz = *khz;
  }
  try {
    return GuestMachine(install, guest);
  } catch (const std::invalid_argument& e) {
    fmt::print(err, "kvm-rr {}: {}\n", name, e.what());
    *status = kExitUsage;
    return std::nullopt;
  }
}

GuestRunResult run_prepared_guest(std::string_view name, const GuestMachine& machine, GuestArgs& args,
                                  std::ostream& out, std::ostream& err) {
  auto argv = machine.qemu_argv();
  args.run.env.emplace_back("KVMRR_LIB", machine.install().core_lib.string());
  if (args.verbose) {
    // One line a shell can run again: `env` plus every word quoted.
    std::vector<std::string> words{"env"};
    for (const auto& [k, v] : args.run.env) words.push_back(k + "=" + v);
    words.insert(words.end(), argv.begin(), argv.end());
    fmt::print(err, "kvm-rr {}: {}\n", name, GuestMachine::shell_command(words));
  }
  return run_guest(argv, args.run, out, err);
}

}  // namespace kvmrr
