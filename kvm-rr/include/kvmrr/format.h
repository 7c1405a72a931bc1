#pragma once
#include <cstdint>

namespace kvmrr {
// Version of the recording format: meta.json and the event streams. A reader accepts only
// its own version; bump it on any incompatible change.
inline constexpr uint32_t kFormatVersion = 1;
}  // namespace kvmrr
