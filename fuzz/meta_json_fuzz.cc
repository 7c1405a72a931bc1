// meta.json (kvm-rr/format: RecordingMeta::from_json) on arbitrary text: parsed or refused
// with RecordingError, never a crash, whatever the JSON holds (types, sizes, nesting).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "kvmrr/error.h"
#include "kvmrr/recording.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    kvmrr::RecordingMeta m = kvmrr::RecordingMeta::from_json(j, "meta.json");
    (void)m.to_json().dump();
  } catch (const kvmrr::RecordingError&) {
  }
  return 0;
}
