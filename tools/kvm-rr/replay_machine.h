#pragma once
// The QEMU command line that replays a recording: the recorded one, made to replay on this
// installation (kvm-rr's QEMU and files, TCG, no console, no monitor, -kernel-replay). Also
// what docs/usage.md tells a user who runs -kernel-replay by hand.
#include <string>
#include <vector>

#include "install.h"
#include "kvmrr/recording.h"

namespace kvmrr {

// Throws RecordingError when the recording has no command line.
std::vector<std::string> replay_command_line(const Recording& rec, const Install& inst);

}  // namespace kvmrr
