// The trace-stream reader (kvm-rr/format: TraceReader) on arbitrary bytes: every stream is
// either read to its end or refused with RecordingError, never a crash, a hang or a read
// out of bounds.
#include "fuzz_util.h"
#include "kvmrr/error.h"
#include "kvmrr/trace_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = kvmrr::fuzz::write_input("events", data, size);
  try {
    kvmrr::TraceReader r(path);
    kvmrr::Event e;
    while (r.next(e)) {
    }
    (void)r.end();
  } catch (const kvmrr::RecordingError&) {
  }
  return 0;
}
