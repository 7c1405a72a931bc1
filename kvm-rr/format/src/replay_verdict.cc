#include "kvmrr/replay_verdict.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "kvmrr/recording.h"

namespace kvmrr {

using nlohmann::json;
using Result = ReplayVerdict::Result;

const char* to_string(Result r) {
  switch (r) {
    case Result::Ok: return "ok";
    case Result::Incomplete: return "incomplete";
    case Result::Diverged: return "diverged";
    case Result::Stopped: return "stopped";
  }
  return "?";
}

void ReplayVerdict::write(const std::filesystem::path& dir) const {
  json j;
  j["recording"] = recording;
  j["result"] = to_string(result);
  j["events_replayed"] = events_replayed;
  j["events_total"] = events_total;
  j["kernel_entries"] = kernel_entries;
  j["memory_digests_checked"] = memory_digests_checked;
  if (memory_digests_unchecked) j["memory_digests_unchecked"] = memory_digests_unchecked;
  j["seconds"] = seconds;
  if (result == Result::Ok || result == Result::Incomplete) j["recording_complete"] = result == Result::Ok;
  if (result == Result::Incomplete) j["incomplete_reason"] = incomplete_reason;
  if (result == Result::Stopped) j["what"] = "replay stopped before the end of the log without a divergence";
  if (divergence) {
    j["divergence"] = {{"event_index", divergence->event_index},
                       {"vcpu", divergence->vcpu},
                       {"what", divergence->what},
                       {"report", divergence->report}};
  }
  write_file_atomically(dir / kFile, j.dump(1) + "\n");
}

std::optional<ReplayVerdict> ReplayVerdict::read(const std::filesystem::path& dir) {
  std::ifstream in(dir / kFile);
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  ReplayVerdict v;
  std::string result = j.value("result", "");
  if (result == "ok") {
    v.result = Result::Ok;
  } else if (result == "incomplete") {
    v.result = Result::Incomplete;
  } else if (result == "diverged") {
    v.result = Result::Diverged;
  } else if (result == "stopped") {
    v.result = Result::Stopped;
  } else {
    return std::nullopt;
  }
  v.recording = j.value("recording", "");
  v.events_replayed = j.value("events_replayed", uint64_t{0});
  v.events_total = j.value("events_total", uint64_t{0});
  v.kernel_entries = j.value("kernel_entries", uint64_t{0});
  v.memory_digests_checked = j.value("memory_digests_checked", uint64_t{0});
  v.memory_digests_unchecked = j.value("memory_digests_unchecked", uint64_t{0});
  v.seconds = j.value("seconds", 0.0);
  v.incomplete_reason = j.value("incomplete_reason", "");
  if (auto d = j.find("divergence"); d != j.end() && d->is_object()) {
    v.divergence = Divergence{d->value("event_index", uint64_t{0}), d->value("vcpu", 0u), d->value("what", ""),
                              d->value("report", "")};
  }
  return v;
}

}  // namespace kvmrr
