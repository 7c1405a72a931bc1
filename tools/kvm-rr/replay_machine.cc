#include "replay_machine.h"

#include "qemu_opts.h"

namespace kvmrr {

// The recorded QEMU command line, made to replay: this installation's QEMU and files (the
// snapshot overwrites what they load, but the machine must have the same devices), TCG,
// no console, no recording, and -kernel-replay.
std::vector<std::string> replay_command_line(const Recording& rec, const Install& inst) {
  std::vector<std::string> argv = rec.meta().command_line;
  if (argv.empty()) {
    throw RecordingError(RecordingError::Kind::Corrupt, rec.meta_path(), "no QEMU command line");
  }
  argv[0] = inst.qemu.string();
  // The recording QEMU's monitors are the user's way in, not part of the machine: a replay
  // listening on the same socket would take it over (rr_record from the monitor records them).
  for (size_t i = 1; i + 1 < argv.size();) {
    const std::string& opt = argv[i];
    if (opt == "-monitor" || opt == "-qmp" || opt == "-qmp-pretty" || opt == "-mon" || opt == "-pidfile") {
      argv.erase(argv.begin() + i, argv.begin() + i + 2);
    } else {
      i++;
    }
  }
  for (size_t i = 1; i + 1 < argv.size(); i++) {
    const std::string& opt = argv[i];
    if (opt == "-serial" && argv[i + 1].rfind("chardev:", 0) != 0) {
      // The serial port stays (the snapshot has its state); its output goes nowhere.
      argv[++i] = "null";
      continue;
    }
    QemuOpts val = QemuOpts::parse(argv[i + 1]);
    if (opt == "-chardev" && val.implied() == "stdio") {
      // No console: the replayed kernel's output is not an input, and stdio is the user's.
      val.set_implied("null");
      val.keep_only({"id"});
    } else if (opt == "-device" && val.implied() == "kvm-rr-ctl") {
      val.keep_only({});  // replay records nothing
    } else if (opt == "-accel") {
      // Replay is TCG's, whatever recorded (the KVM options mean nothing to TCG); several
      // vCPUs replay one at a time, on one thread.
      val = QemuOpts::parse(rec.meta().smp > 1 ? "tcg,thread=single" : "tcg");
    } else if (opt == "-machine" && val.has("accel")) {
      val.set("accel", "tcg");
    } else if (opt == "-L" || opt == "-kernel") {
      // Plain paths, not option lists.
      argv[++i] = (opt == "-L" ? inst.firmware : inst.bzimage).string();
      continue;
    } else if (opt == "-drive" && val.has("file")) {
      val.set("file", inst.rootfs.string());
    } else {
      continue;
    }
    argv[++i] = val.str();
  }
  argv.push_back("-kernel-replay");
  argv.push_back(rec.dir().string());
  return argv;
}

}  // namespace kvmrr
