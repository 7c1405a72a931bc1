#pragma once
// Helpers the front end's unit tests share.
#include "install.h"

namespace kvmrr::testing {

// An installation at made-up paths: for tests of command lines, which never run them.
inline Install fake_install() {
  Install i;
  i.qemu = "/q/qemu";
  i.firmware = "/q/share";
  i.bzimage = "/k/bzImage";
  i.vmlinux = "/k/vmlinux";
  i.rootfs = "/g/rootfs.ext4";
  i.core_lib = "/l/lib.so";
  return i;
}

}  // namespace kvmrr::testing
