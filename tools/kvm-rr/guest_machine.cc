#include "guest_machine.h"

#include <stdexcept>

#include <fmt/format.h>

namespace kvmrr {

// x86 Linux keeps 2048 bytes of command line; leave room for the other parameters.
static constexpr size_t kMaxEncodedCommand = 1600;
// pmem sits below the top of RAM: the firmware reserves the last pages of RAM, and a
// region that overlaps them is split and cannot be mapped.
static constexpr uint64_t kRamAbovePmemMb = 128;
static constexpr uint64_t kRamBelowPmemMb = 256;

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = uint8_t(in[i]) << 16 | uint8_t(in[i + 1]) << 8 | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (size_t rest = in.size() - i) {
    uint32_t v = uint8_t(in[i]) << 16 | (rest > 1 ? uint8_t(in[i + 1]) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

GuestMachine::GuestMachine(Install install, GuestOptions options)
    : install_(std::move(install)), options_(std::move(options)) {
  const GuestOptions& o = options_;
  if (o.accel != "tcg" && o.accel != "kvm") {
    throw std::invalid_argument(fmt::format("unknown accelerator '{}' (tcg or kvm)", o.accel));
  }
  if (o.smp < 1 || o.smp > 8) throw std::invalid_argument("--smp must be between 1 and 8");
  // The pmem driver maps only regions whose start and size are 16 MiB aligned.
  if (o.pmem_mb % 16 != 0) throw std::invalid_argument("--pmem must be a multiple of 16 MiB");
  if (o.memory_mb % 16 != 0) throw std::invalid_argument("-m must be a multiple of 16 MiB");
  if (o.memory_mb < o.pmem_mb + kRamBelowPmemMb + kRamAbovePmemMb) {
    throw std::invalid_argument(
        fmt::format("-m {} leaves too little RAM next to a {} MiB pmem region (need pmem + {} MiB)", o.memory_mb,
                    o.pmem_mb, kRamBelowPmemMb + kRamAbovePmemMb));
  }
  if (o.memory_mb > 3072) {
    throw std::invalid_argument("-m above 3072 MiB is not supported (RAM must stay below the PCI hole)");
  }
  if (o.kernel_args.size() > 200) throw std::invalid_argument("--kernel-args is longer than 200 bytes");
  if (base64_encode(o.command).size() > kMaxEncodedCommand) {
    throw std::invalid_argument(
        "the guest command is too long for the kernel command line "
        "(put it in a script on the guest image)");
  }
}

std::string GuestMachine::kernel_cmdline() const {
  const GuestOptions& o = options_;
  std::string cmdline =
      "console=ttyS0 root=/dev/vda rw rootfstype=ext4 quiet loglevel=3 oops=panic panic=0 "
      "init=/sbin/kvm-rr-init";
  if (o.pmem_mb > 0) cmdline += fmt::format(" memmap={}M!{}M", o.pmem_mb, pmem_offset_mb());
  if (o.tsc_khz) cmdline += fmt::format(" tsc_early_khz={} tsc=reliable", o.tsc_khz);
  // Under KVM every access to QEMU's own APIC is an exit: a periodic timer tick, not one
  // re-armed for each tick (oneshot, for high-resolution timers and the idle tickless
  // mode), takes one MMIO write per tick off (at --smp 8 in the lab, a tenth of the exits).
  if (o.accel == "kvm") cmdline += " highres=off nohz=off";
  if (!o.kernel_args.empty()) cmdline += " " + o.kernel_args;
  if (!o.recording_dir.empty()) cmdline += " kvmrr_record=1";
  cmdline += " kvmrr_cmd=" + base64_encode(o.command);
  return cmdline;
}

uint64_t GuestMachine::pmem_offset_mb() const { return options_.memory_mb - kRamAbovePmemMb - options_.pmem_mb; }

std::vector<std::string> GuestMachine::qemu_argv() const {
  const GuestOptions& o = options_;
  std::string cpu = o.cpu;
  std::string accel = o.accel;
  if (o.accel == "kvm") {
    // The model replay (TCG) can answer the same way: no kvmclock, no x2APIC, no KVM
    // leaves in CPUID.
    cpu += ",-kvmclock,-x2apic,kvm=off";
    // The machine a recording needs, from boot on: QEMU's own APIC, so only QEMU injects
    // interrupts, and every port access an exit (each is a sync point).
    accel += ",kernel-irqchip=off,coalesced-io=off";
  } else if (o.smp > 1 && !o.recording_dir.empty()) {
    // Recorded vCPUs share one TCG thread, which switches between them only where replay
    // can switch too (qemu-patches: several vCPUs on one TCG thread).
    accel += ",thread=single";
  }
  // One QEMU option and its value a line.
  // clang-format off
  std::vector<std::string> argv = {
      install_.qemu.string(),
      "-nodefaults", "-no-user-config", "-display", "none",
      "-machine", o.machine,
      "-accel", accel,
      "-cpu", cpu,
      "-m", std::to_string(o.memory_mb),
      "-smp", std::to_string(o.smp),
      "-L", install_.firmware.string(),
      "-kernel", install_.bzimage.string(),
      "-append", kernel_cmdline(),
      // snapshot=on: writes go to a temporary overlay, the cached image stays pristine.
      "-drive", fmt::format("file={},if=none,id=root,format=raw,snapshot=on", install_.rootfs.string()),
      "-device", "virtio-blk-pci,drive=root",
      "-chardev", "stdio,id=console,signal=off",
      "-serial", "chardev:console",
      "-device", "isa-debug-exit,iobase=0xf4,iosize=1,raw-status=on",
      "-device", "pvpanic-pci",
      "-action", "panic=exit-failure",
      "-no-reboot",
  };
  // clang-format on
  for (size_t i = 0; i < o.extra_disks.size(); i++) {
    std::string id = fmt::format("disk{}", i + 1);
    std::string file;
    for (char c : o.extra_disks[i].path) file += c == ',' ? std::string(",,") : std::string(1, c);
    argv.insert(argv.end(), {"-drive",
                             fmt::format("file={},if=none,id={},format=raw{}", file, id,
                                         o.extra_disks[i].read_only ? ",readonly=on" : ""),
                             "-device", "virtio-blk-pci,drive=" + id});
  }
  if (!o.recording_dir.empty()) {
    // QEMU's option parser takes a doubled comma as a literal one.
    std::string dir;
    for (char c : o.recording_dir) dir += c == ',' ? std::string(",,") : std::string(1, c);
    argv.insert(argv.end(), {"-device", "kvm-rr-ctl,recording=" + dir});
  }
  return argv;
}

// Arguments made only of these need no quoting for a shell.
static constexpr char kShellPlain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=./:,@%";

std::string GuestMachine::shell_command(const std::vector<std::string>& argv) {
  if (argv.size() == 1) return argv[0];
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of(kShellPlain) == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace kvmrr
