#pragma once
#include <cstdint>

namespace kvmrr {
// Version of the recording format: meta.json and the event streams. Bump it on any
// incompatible change; a reader accepts its own version and the older ones it still reads
// alike (kOldestFormatVersion on).
//  2: device writes made while the vCPU was in user mode say so (in_io 3, DmaTiming::InUser);
//     version 1 logged them as made at its last sync point.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
}  // namespace kvmrr
