#include "kvmrr/replay_session.h"

#include <fmt/format.h>

#include "kvmrr/registers.h"

namespace kvmrr {

ReplaySession::ReplaySession(const Recording& recording, const Vmlinux* vmlinux)
    : reader_(recording.open_events()), vmlinux_(vmlinux) {}

bool ReplaySession::read_one() {
  if (eof_) return false;
  Event e;
  if (!reader_->next(e)) {
    eof_ = true;
    return false;
  }
  ahead_.push_back(std::move(e));
  return true;
}

bool ReplaySession::fill() { return !ahead_.empty() || read_one(); }

const Event* ReplaySession::peek() {
  if (divergence_ || !fill()) return nullptr;
  return &ahead_.front();
}

const Event* ReplaySession::peek_vcpu(uint32_t vcpu, size_t nth, size_t horizon) {
  if (divergence_) return nullptr;
  for (size_t i = 0; i < horizon; i++) {
    if (i == ahead_.size() && !read_one()) return nullptr;
    if (ahead_[i].vcpu == vcpu && nth-- == 0) return &ahead_[i];
  }
  return nullptr;
}

bool ReplaySession::at_end() { return !divergence_ && !fill(); }

bool ReplaySession::finished() { return at_end() && reader_->end().complete; }

std::string ReplaySession::sym(uint64_t rip) const {
  if (!vmlinux_ || rip < 0xffff800000000000ull) return fmt::format("{:#x}", rip);
  std::optional<std::string> name = vmlinux_->symbol_at(rip);
  return name ? fmt::format("{:#x} <{}>", rip, *name) : fmt::format("{:#x}", rip);
}

void ReplaySession::diverge(std::string what, uint32_t vcpu, const Regs* actual, bool have_expected) {
  Divergence d;
  d.event_index = consumed_;
  d.vcpu = vcpu;
  d.what = std::move(what);
  if (have_expected && !ahead_.empty()) d.expected = ahead_.front();
  if (actual) d.actual = *actual;
  d.recent = recent_;
  d.recent_first_index = consumed_ - recent_.size();
  divergence_ = std::move(d);
}

const Event* ReplaySession::take() {
  if (divergence_ || !fill()) return nullptr;
  return consume();
}

void ReplaySession::diverge_here(std::string what, uint32_t vcpu, const Regs* actual, std::string detail) {
  if (divergence_) return;
  diverge(std::move(what), vcpu, actual, fill());
  divergence_->detail = std::move(detail);
}

// The matched event moves into the window of recent events the reports show.
const Event* ReplaySession::consume() {
  recent_.push_back(std::move(ahead_.front()));
  if (recent_.size() > kRecentEvents) recent_.pop_front();
  ahead_.pop_front();
  consumed_++;
  return &recent_.back();
}

const Event* ReplaySession::expect(EventType type, uint32_t vcpu, const Regs& regs) {
  if (divergence_) return nullptr;
  if (!fill()) {
    diverge(fmt::format("the replayed kernel reached a {} at {} on vCPU {}, but the log has no "
                        "more events{}",
                        to_string(type), sym(regs.rip), vcpu,
                        reader_->end().complete ? "" : " (the recording is incomplete)"),
            vcpu, &regs, false);
    return nullptr;
  }
  const Event& e = ahead_.front();
  if (e.type != type || e.vcpu != vcpu) {
    diverge(fmt::format("expected {} on vCPU {} at {}; the replayed kernel reached a {} on vCPU {} "
                        "at {}",
                        to_string(e.type), e.vcpu, sym(e.rip), to_string(type), vcpu, sym(regs.rip)),
            vcpu, &regs, true);
    return nullptr;
  }
  if (e.rip != regs.rip) {
    diverge(fmt::format("{} on vCPU {}: expected RIP {}, actual {}", to_string(type), vcpu, sym(e.rip), sym(regs.rip)),
            vcpu, &regs, true);
    return nullptr;
  }
  if (e.digest != 0 && e.digest != register_digest(regs)) {
    diverge(fmt::format("{} on vCPU {} at {}: same RIP, different registers (digest {:#018x}, "
                        "recorded {:#018x})",
                        to_string(type), vcpu, sym(regs.rip), register_digest(regs), e.digest),
            vcpu, &regs, true);
    return nullptr;
  }
  return consume();
}

const Event* ReplaySession::expect_entry(uint32_t vcpu) {
  if (divergence_) return nullptr;
  const Event* e = peek();
  if (!e || !is_user_entry(*e) || e->vcpu != vcpu) {
    diverge(e ? fmt::format("vCPU {} returned to user mode; the log expected {} on vCPU {} at {}", vcpu,
                            to_string(e->type), e->vcpu, sym(e->rip))
              : fmt::format("vCPU {} returned to user mode, but the log has no more events", vcpu),
            vcpu, nullptr, e != nullptr);
    return nullptr;
  }
  return consume();
}

std::string ReplaySession::report() const {
  if (!divergence_) return "no divergence\n";
  const Divergence& d = *divergence_;
  std::string out = fmt::format("DIVERGED at event {} on vCPU {}: {}\n", d.event_index, d.vcpu, d.what);
  if (d.expected) out += fmt::format("  expected: #{} {}\n", d.event_index, describe(*d.expected, vmlinux_));
  out += d.detail;
  std::optional<Regs> want;
  if (d.expected && d.expected->digest) want = unpack_regs(d.expected->data);
  auto regs = [&](const char* label, const Regs& r, const Regs* other) {
    out += fmt::format("  {}rip={} rflags={:#x} cpl={}\n", label, sym(r.rip), r.rflags, r.cpl);
    for (int i = 0; i < 16; i += 4) {
      out += "           ";
      for (int j = i; j < i + 4; j++) {
        bool differs = other && other->gpr[j] != r.gpr[j];
        out += fmt::format(" {}{}={:#018x}", differs ? "*" : "", kGprNames[j], r.gpr[j]);
      }
      out += "\n";
    }
  };
  if (want) regs("recorded: ", *want, d.actual ? &*d.actual : nullptr);
  if (d.actual) regs("actual:   ", *d.actual, want ? &*want : nullptr);
  if (want && d.actual) out += "  (* marks a register that differs)\n";
  if (!d.recent.empty()) {
    out += fmt::format("  the {} events before it:\n", d.recent.size());
    uint64_t idx = d.recent_first_index;
    for (const Event& e : d.recent) {
      out += fmt::format("    #{} {}\n", idx++, describe(e, vmlinux_));
    }
  }
  return out;
}

}  // namespace kvmrr
