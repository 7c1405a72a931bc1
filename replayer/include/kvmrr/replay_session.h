#pragma once
// The replay side of the core: hands a recording's events to the replaying QEMU in log order
// and checks that the replayed kernel meets each one where it was recorded. The first
// mismatch stops replay with a Divergence a kernel developer can act on.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "kvmrr/recording.h"
#include "kvmrr/registers.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {

struct Divergence {
  uint64_t event_index = 0;  // the event replay could not match (or the end of the log)
  uint32_t vcpu = 0;
  std::string what;               // one line: what differed
  std::string detail;             // more lines (each ending in a newline), if any
  std::optional<Event> expected;  // the recorded event, if any
  std::optional<Regs> actual;
  std::deque<Event> recent;  // the events consumed just before, oldest first
  uint64_t recent_first_index = 0;
};

class ReplaySession {
 public:
  static constexpr size_t kRecentEvents = 16;

  // vmlinux (optional) symbolizes reports. Throws RecordingError for unreadable recordings.
  explicit ReplaySession(const Recording& recording, const Vmlinux* vmlinux = nullptr);

  // The next event in log order without consuming it; nullptr at the end of the log.
  const Event* peek();
  // The next event of `vcpu` (with nth > 0: the one nth after it), reading at most `horizon`
  // events ahead (kept for later); nullptr when there is none that close.
  const Event* peek_vcpu(uint32_t vcpu, size_t nth = 0, size_t horizon = kLookahead);
  static constexpr size_t kLookahead = 1 << 16;
  // Consumes the next event, which must be of `type` for `vcpu`, recorded at the RIP in
  // `regs` and, when the recording has a digest, with the same registers. Returns the event,
  // or nullptr after recording a divergence (every later call returns nullptr too).
  const Event* expect(EventType type, uint32_t vcpu, const Regs& regs);
  // As expect(), for kernel entries from user mode, whose check is the entry itself.
  const Event* expect_entry(uint32_t vcpu);

  // Consumes the next event after the caller checked it with peek(); nullptr at the end.
  const Event* take();
  // Stops replay with a divergence the caller found; the next event, if any, is reported as
  // the expected one.
  void diverge_here(std::string what, uint32_t vcpu, const Regs* actual, std::string detail = {});
  // How the stream ended; valid once at_end() returned true.
  const StreamEnd& stream_end() const { return reader_->end(); }
  // "0x... <symbol+0x..>" for kernel addresses.
  std::string sym(uint64_t rip) const;

  uint64_t consumed() const { return consumed_; }
  bool at_end();
  // True once the whole log was consumed and the stream was complete.
  bool finished();
  const std::optional<Divergence>& divergence() const { return divergence_; }
  // The divergence as text: event index, vCPU, expected vs actual RIP (symbolized) and
  // registers, and the last events before it.
  std::string report() const;

 private:
  bool fill();
  bool read_one();
  const Event* consume();
  void diverge(std::string what, uint32_t vcpu, const Regs* actual, bool have_expected);
  std::unique_ptr<TraceReader> reader_;
  const Vmlinux* vmlinux_;
  std::deque<Event> ahead_;  // read, not consumed: the next event first
  bool eof_ = false;
  uint64_t consumed_ = 0;
  std::deque<Event> recent_;
  std::optional<Divergence> divergence_;
};

}  // namespace kvmrr
