#pragma once
// What a replay concluded, as <recording>/replay.json holds it: written by the replay
// engine inside QEMU (replayer/), read by `kvm-rr replay` and the tests. One type for both.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kvmrr {

struct ReplayVerdict {
  static constexpr const char* kFile = "replay.json";

  enum class Result {
    Ok,          // every event replayed, recording complete
    Incomplete,  // every event of an incomplete recording's readable prefix replayed
    Diverged,    // the replayed kernel did something the log does not say
    Stopped,     // replay ended before the log did, with no divergence (a bug of ours)
  };
  struct Divergence {
    uint64_t event_index = 0;
    uint32_t vcpu = 0;
    std::string what;    // one line
    std::string report;  // the full report (registers, symbols, the last events, stack)
  };

  Result result = Result::Stopped;
  std::string recording;  // the recording's directory
  uint64_t events_replayed = 0;
  uint64_t events_total = 0;
  uint64_t kernel_entries = 0;
  uint64_t memory_digests_checked = 0;    // the recording's memory digests replay matched
  uint64_t memory_digests_unchecked = 0;  // ... it could not check (QEMU gave no memory)
  double seconds = 0;
  std::string incomplete_reason;         // Result::Incomplete
  std::optional<Divergence> divergence;  // Result::Diverged

  // Writes dir/replay.json atomically; throws RecordingError (Io).
  void write(const std::filesystem::path& dir) const;
  // Reads dir/replay.json: nullopt when there is none or it is not a verdict (QEMU died
  // before writing one).
  static std::optional<ReplayVerdict> read(const std::filesystem::path& dir);
};

const char* to_string(ReplayVerdict::Result r);

}  // namespace kvmrr
