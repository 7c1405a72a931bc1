#pragma once
#include <cstdint>

namespace kvmrr {
// Version of the recording format: meta.json and the event streams. Bump it on any
// incompatible change; a reader accepts its own version and the older ones it still reads
// alike (kOldestFormatVersion on).
//  2: device writes made while the vCPU was in user mode say so (in_io 3, DmaTiming::InUser);
//     version 1 logged them as made at its last sync point.
//  3: several vCPUs under KVM keep the kernel's order in the guest (the kernel token in the
//     ring): device writes made while no vCPU ran kernel code (in_io 4, DmaTiming::Between),
//     and the guest's writes to KVMRR_PORT_KERNEL are no sync points (replay reads that from
//     the ring's flags, so version 2's multi-core KVM recordings replay as before).
//  4: memory digests (mem_digest events): a reader of version 3 would take them for corruption.
inline constexpr uint32_t kFormatVersion = 4;
inline constexpr uint32_t kOldestFormatVersion = 1;
}  // namespace kvmrr
