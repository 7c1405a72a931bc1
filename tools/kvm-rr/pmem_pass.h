#pragma once
// The pmem pass as replay runs it: where a recording's persistent memory is and the
// -plugin argument that logs it into DIR/pmem/ (passes/pmem/).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "install.h"
#include "kvmrr/recording.h"

namespace kvmrr {

struct PmemRange {
  uint64_t base = 0, size = 0;  // guest-physical
};

// From the recorded kernel command line's memmap=SIZE!OFFSET (how the default guest makes
// /dev/pmem0); nullopt when the recording has no pmem.
std::optional<PmemRange> recorded_pmem_range(const std::vector<std::string>& qemu_argv);

// A pass's output directory, emptied and made, and its plugin checked: both go into
// QEMU's -plugin argument, which cannot hold a comma. Throws RecordingError.
void prepare_pass_dir(const std::filesystem::path& out, const std::filesystem::path& plugin,
                      const std::filesystem::path& vmlinux, const char* what);

// Where the pass writes: DIR/pmem.
std::filesystem::path pmem_pass_dir(const Recording& rec);

// `-plugin` and its argument for the replay of rec; empties the pass directory first.
// Throws RecordingError when the recording has no pmem.
std::vector<std::string> pmem_pass_qemu_args(const Recording& rec, const Install& inst);

}  // namespace kvmrr
