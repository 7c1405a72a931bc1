// The guest ring's records (kvm-rr/format: parse_guest_records), as the recorder inside QEMU
// parses what the guest kernel wrote: a buggy or hostile guest controls every byte. Parsed
// or refused with RecordingError, never a crash or a read past the bytes given.
#include <cstdint>
#include <vector>

#include "kvmrr/error.h"
#include "kvmrr/guest_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes: the sanitizer sees any read past it.
  std::vector<uint8_t> ring(data, data + size);
  try {
    std::vector<kvmrr::Event> events = kvmrr::parse_guest_records(ring.data(), ring.size());
    for (const kvmrr::Event& e : events) (void)kvmrr::describe(e);
  } catch (const kvmrr::RecordingError&) {
  }
  return 0;
}
