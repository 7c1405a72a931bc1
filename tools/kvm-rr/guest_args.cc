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

static bool parse_u64(const std::string& s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_guest_args(std::string_view name, const std::vector<std::string>& args, GuestArgs& out,
                      std::ostream& err,
                      const std::function<bool(const std::vector<std::string>&, size_t&)>& extra) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto number = [&](uint64_t& v) {
      if (i + 1 >= args.size() || !parse_u64(args[i + 1], v)) {
        fmt::print(err, "kvm-rr {}: {} needs a number\n", name, a);
        return false;
      }
      i++;
      return true;
    };
    uint64_t v = 0;
    if (a == "--") {
      out.command.assign(args.begin() + long(i) + 1, args.end());
      break;
    } else if (a == "--accel") {
      if (i + 1 >= args.size()) {
        fmt::print(err, "kvm-rr {}: --accel needs tcg or kvm\n", name);
        return false;
      }
      out.guest.accel = args[++i];
    } else if (a == "-m") {
      if (!number(out.guest.memory_mb)) return false;
    } else if (a == "--smp") {
      if (!number(v)) return false;
      out.guest.smp = uint32_t(v);
    } else if (a == "--pmem") {
      if (!number(out.guest.pmem_mb)) return false;
    } else if (a == "--timeout") {
      if (!number(v)) return false;
      out.run.timeout = std::chrono::seconds(v);
    } else if (a == "--kernel-args") {
      if (i + 1 >= args.size()) {
        fmt::print(err, "kvm-rr {}: --kernel-args needs the parameters\n", name);
        return false;
      }
      out.guest.kernel_args = args[++i];
    } else if (a == "--verbose") {
      out.verbose = true;
    } else if (!extra || !extra(args, i)) {
      fmt::print(err, "kvm-rr {}: unexpected argument '{}' (see kvm-rr {} --help)\n", name, a, name);
      return false;
    }
  }
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
    std::string why = r.kernel_panic   ? "the guest kernel panicked"
                      : r.qemu_signal  ? fmt::format("QEMU was killed by signal {}", r.qemu_signal)
                      : r.qemu_exit == 0 ? "QEMU exited with status 0: the guest reset (a triple fault?) or powered off"
                                       : fmt::format("QEMU exited with status {}", r.qemu_exit);
    fmt::print(err, "kvm-rr {}: the guest did not report the command's status: {}\n", name, why);
    return kExitGuestFailed;
  }
  if (r.qemu_exit != *r.guest_status) {
    fmt::print(err, "kvm-rr {}: guest reported status {} but QEMU exited with {}\n", name,
               *r.guest_status, r.qemu_exit);
    return kExitGuestFailed;
  }
  return *r.guest_status;
}

std::optional<GuestMachine> prepare_guest(std::string_view name, const GuestArgs& args,
                                          std::ostream& err, int* status) {
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
  try {
    return GuestMachine(install, args.guest);
  } catch (const std::invalid_argument& e) {
    fmt::print(err, "kvm-rr {}: {}\n", name, e.what());
    *status = kExitUsage;
    return std::nullopt;
  }
}

GuestRunResult run_prepared_guest(std::string_view name, const GuestMachine& machine,
                                  GuestArgs& args, std::ostream& out, std::ostream& err) {
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
