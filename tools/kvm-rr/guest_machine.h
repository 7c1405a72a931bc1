#pragma once
// The default guest: kvm-rr's kernel booting the ext4 root file system on virtio-blk, a
// legacy persistent-memory region (/dev/pmem0), the serial console on stdio, and init
// running one command as root through `sh -c`. This class only builds QEMU's command line;
// running it is the caller's job.
#include <cstdint>
#include <string>
#include <vector>

#include "install.h"

namespace kvmrr {

struct GuestOptions {
  std::string accel = "tcg";
  std::string machine = "pc-i440fx-5.1";  // 5.1 and older add kvmclock only on request
  std::string cpu = "qemu64";
  uint64_t memory_mb = 1024;
  uint64_t pmem_mb = 128;  // carved from RAM by memmap=, shows up as /dev/pmem0
  uint32_t smp = 1;
  std::string command;  // shell command run in the guest as root
  // Appended to the kernel command line (e.g. kvmrr_serialize).
  std::string kernel_args;
  // When set, the guest's TSC frequency in kHz: the kernel uses it instead of calibrating,
  // and the TSC as its clocksource (tsc_early_khz=, tsc=reliable).
  uint32_t tsc_khz = 0;
  // When set, the guest records the command into this directory (kvm-rr-ctl device).
  std::string recording_dir;
  // Raw disk images after the root disk: /dev/vdb, /dev/vdc, ... in this order.
  struct Disk {
    std::string path;
    bool read_only = true;
  };
  std::vector<Disk> extra_disks;
};

// What init prints on the console just before powering off. The runner strips it.
inline constexpr std::string_view kGuestStatusMarker = "kvm-rr-guest: status ";

class GuestMachine {
 public:
  // Throws std::invalid_argument for impossible options (pmem larger than memory, a
  // command too long for the kernel command line).
  GuestMachine(Install install, GuestOptions options);

  std::vector<std::string> qemu_argv() const;
  std::string kernel_cmdline() const;
  // Guest-physical start of the pmem region, in MiB.
  uint64_t pmem_offset_mb() const;
  const GuestOptions& options() const { return options_; }
  const Install& install() const { return install_; }

  // Joins CMD... into one shell command: one argument is taken as a script as it is, several
  // are quoted so that `kvm-rr run -- echo 'a b'` prints "a b".
  static std::string shell_command(const std::vector<std::string>& argv);

 private:
  Install install_;
  GuestOptions options_;
};

std::string base64_encode(std::string_view in);

}  // namespace kvmrr
