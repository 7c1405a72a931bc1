#pragma once
// The branch pass as replay runs it (passes/branches/): its window in event indices, from
// the options or from "the Nth entry of system call NAME", and its -plugin argument.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "install.h"
#include "kvmrr/branch_log.h"
#include "kvmrr/recording.h"

namespace kvmrr {

// Where the pass writes: DIR/branches.
std::filesystem::path branches_pass_dir(const Recording& rec);

// The window of the nth (1-based) entry of system call `name` (made by `pid`, or by any
// thread when 0): from that entry's event to the same thread's next entry, that thread
// only. Throws std::invalid_argument naming what is not there.
branches::Window entry_window(const Recording& rec, const std::string& name, uint64_t nth, uint64_t pid);

// `-plugin` and its argument; empties the pass directory first. Throws RecordingError.
std::vector<std::string> branches_pass_qemu_args(const Recording& rec, const Install& inst, const branches::Window& w);

}  // namespace kvmrr
