#pragma once
// Records of the guest kernel's event ring (kvmrr/guest-abi.h) as events. The recorder turns
// drained records into the log; replay parses what the replayed kernel wrote at the same
// points and checks it against the events it fed.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kvmrr/event.h"

namespace kvmrr {

// Throws RecordingError (Corrupt, "guest ring") naming the ring offset of a malformed record.
std::vector<Event> parse_guest_records(const uint8_t* records, size_t size);

}  // namespace kvmrr
