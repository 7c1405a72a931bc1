#pragma once
// Records of the guest kernel's event ring (kvmrr/guest-abi.h) as events. The recorder turns
// drained records into the log; replay parses what the replayed kernel wrote at the same
// points and checks it against the events it fed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kvmrr/event.h"

namespace kvmrr {

// Throws RecordingError (Corrupt, "guest ring") naming the ring offset of a malformed record.
std::vector<Event> parse_guest_records(const uint8_t* records, size_t size);

// The most a ring may hold that QEMU will copy out (kvm-rr's guest kernel has 1 MiB).
inline constexpr uint32_t kMaxGuestRingBytes = 64u << 20;

// The ring header's words QEMU reads before it copies records out (the guest writes them:
// a buggy or hostile kernel can put anything there). Empty when they are usable, else one
// line naming the field and its value.
std::string check_guest_ring_header(uint32_t head, uint32_t size, uint32_t header_size, uint32_t header_struct_size);

}  // namespace kvmrr
