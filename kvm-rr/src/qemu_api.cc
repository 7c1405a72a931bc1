// libkvmrr-qemu.so: what the patched QEMU loads (see include/kvmrr/qemu-abi.h).
#include <cstdio>
#include <string>

#include "kvmrr/build_info.h"
#include "kvmrr/format.h"
#include "kvmrr/qemu-abi.h"

namespace {

// No recorder or replayer is attached to this QEMU yet: recording arrives with rr_record.
size_t describe(char* buf, size_t size) {
  std::string text = "state: idle (not recording, not replaying)\n";
  if (buf && size > 0) snprintf(buf, size, "%s", text.c_str());
  return text.size();
}

const KvmrrQemuApi kApi = {
    .abi_version = KVMRR_QEMU_ABI_VERSION,
    .format_version = kvmrr::kFormatVersion,
    .library_version = "kvm-rr " KVMRR_VERSION " (" KVMRR_GIT ")",
    .describe = describe,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const KvmrrQemuApi* kvmrr_qemu_api(uint32_t abi_version) {
  return abi_version == KVMRR_QEMU_ABI_VERSION ? &kApi : nullptr;
}
