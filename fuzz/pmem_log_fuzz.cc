// The pmem pass's log reader (passes/pmem: read_log) on arbitrary bytes: read as a (maybe
// incomplete) log or refused with RecordingError, never a crash.
#include "fuzz_util.h"
#include "kvmrr/error.h"
#include "kvmrr/pmem_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = kvmrr::fuzz::write_input("pmem.log", data, size);
  try {
    kvmrr::pmem::Log log = kvmrr::pmem::read_log(path);
    (void)log.records.size();
  } catch (const kvmrr::RecordingError&) {
  }
  return 0;
}
