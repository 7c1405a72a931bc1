#include "kvmrr/replayer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kvmrr/error.h"
#include "kvmrr/guest-abi.h"
#include "kvmrr/guest_records.h"
#include "kvmrr/registers.h"
#include "kvmrr/replay_verdict.h"

namespace kvmrr {

namespace {

constexpr uint64_t kNoWindow = std::numeric_limits<uint64_t>::max();
// The guest's TASK_SIZE_MAX (4-level paging): kvmrr_user_read() clips reads to it.
constexpr uint64_t kTaskSizeMax = (1ull << 47) - 4096;

uint64_t hook(const Vmlinux& v, const char* name) {
  auto a = v.symbol(name);
  if (!a) {
    throw RecordingError(RecordingError::Kind::Corrupt, v.path(),
                         fmt::format("no symbol {}: not a kvm-rr guest kernel (CONFIG_KVMRR)", name));
  }
  return *a;
}

}  // namespace

Replayer::Replayer(const std::filesystem::path& dir, const std::filesystem::path& vmlinux)
    : recording_(Recording::open(dir)),
      vmlinux_(open_recorded_kernel(vmlinux, recording_.meta().vmlinux_build_id)),
      session_(recording_, &vmlinux_) {
  const RecordingMeta& m = recording_.meta();
  if (m.accel != "tcg" && m.accel != "kvm") {
    throw RecordingError(RecordingError::Kind::Corrupt, recording_.meta_path(),
                         fmt::format("recorded with accelerator '{}'", m.accel));
  }
  if (m.smp < 1 || m.smp > kMaxVcpus) {
    throw RecordingError(RecordingError::Kind::Corrupt, recording_.meta_path(),
                         fmt::format("recorded with {} vCPUs; replay handles 1 to {}", m.smp, kMaxVcpus));
  }
  if (!m.guest_ring_gpa) {
    throw RecordingError(RecordingError::Kind::Corrupt, recording_.meta_path(),
                         "no guest_ring_gpa: the guest kernel had not registered its event ring");
  }
  hooks_.guest_ring_gpa = m.guest_ring_gpa;
  hooks_.tsc = hook(vmlinux_, "kvmrr_tsc");
  hooks_.user_read = hook(vmlinux_, "kvmrr_user_read");
  hooks_.user_value = hook(vmlinux_, "kvmrr_user_value");
  hooks_.entry_log = hook(vmlinux_, "kvmrr_log_user_entry");
  hooks_.yield_point = hook(vmlinux_, "kvmrr_yield_point");
  entry_performed_.assign(kMaxVcpus, false);
  chunks_ahead_.assign(kMaxVcpus, 0);
  hooks_.smp = m.smp;
  load_cpuid_table(m);

  // One pass over the log for what replay must know ahead: every yield window (the ring's
  // yield_target makes the kernel open it) and totals for progress.
  yield_windows_.resize(kMaxVcpus);
  next_window_.assign(kMaxVcpus, 0);
  auto reader = recording_.open_events();
  for (Event e; reader->next(e);) {
    total_events_++;
    if (e.type == EventType::YieldWindow && e.vcpu < kMaxVcpus && e.nargs > 0) {
      // Kernels before the pending bits logged 0: an interrupt window.
      uint64_t pending = e.nargs > 1 && e.args[arg::kPending] ? e.args[arg::kPending] : KVMRR_PENDING_IRQ;
      yield_windows_[e.vcpu].push_back({e.args[arg::kYield], e.rip, pending});
    }
  }
  hooks_.yield_target.resize(kMaxVcpus);
  for (size_t v = 0; v < kMaxVcpus; v++) {
    hooks_.yield_target[v] = yield_windows_[v].empty() ? kNoWindow : yield_windows_[v][0].count;
  }
  started_ = last_progress_ = std::chrono::steady_clock::now();
}

void Replayer::attach_memory(const uint8_t* ram, uint64_t bytes) {
  try {
    memory_ = GuestMemory::from_ram(ram, bytes, vmlinux_);
  } catch (const RecordingError& e) {
    // Checked when a digest comes: a recording without digests needs no struct pages.
    memory_error_ = e.what();
  }
}

void Replayer::track_writes(std::function<bool(std::vector<uint8_t>&)> written_since_last) {
  memory_.written_since_last = std::move(written_since_last);
}

void Replayer::log_memory_state(const std::filesystem::path& file) {
  state_log_ = std::make_unique<MemoryStateLog>(file);
}

static bool is_anchored_digest(const Event* e) {
  return e && e->type == EventType::MemDigest && e->nargs > arg::kDigestSync;
}

Replayer::Step Replayer::check_digests(uint32_t vcpu) {
  for (const Event* e; (e = session_.peek()) && e->type == EventType::MemDigest && !is_anchored_digest(e);) {
    if (!verify_digest(*e, vcpu)) return Step::Stop;
    session_.take();
  }
  return stop_if_diverged();
}

bool Replayer::verify_digest(const Event& d, uint32_t vcpu) {
  uint64_t seq = d.nargs > arg::kDigestSeq ? d.args[arg::kDigestSeq] : 0;
  auto point = DigestPoint(d.nargs > arg::kDigestPoint ? d.args[arg::kDigestPoint] : 0);
  try {
    recorded_digests_.apply(decode_digests(d.data));
  } catch (const RecordingError& e) {
    session_.diverge_here(fmt::format("the recording's memory digest #{} is malformed: {}", seq, e.detail()), vcpu,
                          nullptr);
    return false;
  }
  if (d.nargs > arg::kDigestCombined && recorded_digests_.combined() != d.args[arg::kDigestCombined]) {
    session_.diverge_here(
        fmt::format("the recording's memory digest #{} does not add up: its table of page digests is damaged", seq),
        vcpu, nullptr);
    return false;
  }
  const auto& summary = recording_.meta().memory_digests;
  if (summary && summary->rules != kDigestRules) {
    // Digested by other rules than this kvm-rr's: comparing would report what differs in
    // the rules, not in the kernel.
    if (!digests_unchecked_++) {
      fprintf(stderr, "kvm-rr replay: the recording's memory digests follow rules %u, this kvm-rr's %u: not checked\n",
              summary->rules, kDigestRules);
    }
    return true;
  }
  if (!memory_error_.empty()) {
    session_.diverge_here(fmt::format("replay cannot take memory digest #{}: {}", seq, memory_error_), vcpu, nullptr);
    return false;
  }
  if (!memory_.ram) {
    digests_unchecked_++;
    return true;
  }
  std::vector<PageDigest> now;
  std::vector<Uncovered> why_not_covered;
  try {
    if (!kernel_memory_) kernel_memory_ = std::make_unique<KernelMemory>(vmlinux_, hooks_.guest_ring_gpa);
    now = kernel_memory_->digest(memory_, point != DigestPoint::End, state_log_ ? &why_not_covered : nullptr);
  } catch (const RecordingError& e) {
    session_.diverge_here(fmt::format("replay cannot take memory digest #{}: {}", seq, e.what()), vcpu, nullptr);
    return false;
  }
  if (state_log_) state_log_->write(seq, session_.consumed(), memory_, now, why_not_covered);
  std::vector<PageMismatch> diff = compare(recorded_digests_, now);
  if (diff.empty()) {
    digests_checked_++;
    last_digest_at_ = session_.consumed();
    return true;
  }
  auto page_line = [&](const PageMismatch& m) {
    PageKind kind = m.recorded != PageKind::None ? m.recorded : m.replayed;
    std::string s = kernel_memory_->describe(m.pfn, kind, m.first_line);
    if (m.recorded != m.replayed) {
      s += fmt::format(": the recording had it as {}, replay as {}", to_string(m.recorded), to_string(m.replayed));
    } else if (m.first_line >= 0) {
      s += fmt::format(": from byte {:#x} on", m.first_line * 64);
      if (m.lines.size() > 1) {
        // Where the other lines are tells an object that moved from one that changed.
        s += fmt::format(" ({} lines differ, at", m.lines.size());
        for (size_t i = 0; i < std::min<size_t>(m.lines.size(), 16); i++) s += fmt::format(" {:#x}", m.lines[i] * 64);
        s += m.lines.size() > 16 ? " ...)" : ")";
      }
    }
    return s;
  };
  std::string detail;
  const size_t shown = std::min<size_t>(diff.size(), 8);
  for (size_t i = 0; i < shown; i++) {
    const PageMismatch& m = diff[i];
    detail += fmt::format("    {}\n", page_line(m));
    if (m.recorded == m.replayed && m.first_line >= 0 && uint64_t(m.pfn + 1) * kPageBytes <= memory_.bytes) {
      const uint8_t* line = memory_.ram + uint64_t(m.pfn) * kPageBytes + m.first_line * 64;
      detail += "      replayed:";
      for (int w = 0; w < 8; w++) {
        uint64_t v;
        memcpy(&v, line + w * 8, 8);
        detail += fmt::format(" {:016x}", v);
      }
      detail += "\n";
    }
  }
  if (diff.size() > shown) detail += fmt::format("    and {} more pages\n", diff.size() - shown);
  detail += fmt::format(
      "  an input that reached only memory came between {} and event #{} (the events below are the last of it)\n",
      last_digest_at_ ? fmt::format("the last digest that matched (after event #{})", last_digest_at_ - 1)
                      : std::string("the start"),
      session_.consumed());
  session_.diverge_here(fmt::format("kernel memory differs from the recording at memory digest #{} ({}): {} page{} "
                                    "differ{}, the first {}",
                                    seq, to_string(point), diff.size(), diff.size() == 1 ? "" : "s",
                                    diff.size() == 1 ? "s" : "", page_line(diff[0])),
                        vcpu, nullptr, detail);
  return false;
}

bool Replayer::ended() {
  if (session_.divergence()) return true;
  if (session_.peek()) return false;
  log_ended_ = true;
  return true;
}

Replayer::Step Replayer::my_turn(uint32_t vcpu) {
  if (!apply_between()) return Step::Stop;
  if (ended()) return Step::Stop;
  return session_.peek()->vcpu == vcpu ? Step::Continue : Step::Wait;
}

int Replayer::turn() {
  if (!apply_between()) return -1;
  const Event* e = session_.peek();

  return e ? static_cast<int>(e->vcpu) : -1;
}

static bool is_between_write(const Event* e) {
  return e && e->type == EventType::Dma && e->nargs >= 4 && DmaTiming(e->args[arg::kInIo]) == DmaTiming::Between;
}

// Made while the main loop held the guest's kernel token: after the last holder's records and
// before the next holder's, which is where replay stands when the write reaches the log's head.
bool Replayer::apply_between() {
  for (const Event* e; is_between_write(e = session_.peek());) {
    if (!ram_write_) {
      session_.diverge_here("a device write made while no vCPU ran kernel code comes before replay began", e->vcpu,
                            nullptr);
      return false;
    }
    if (!write_logged(*e, ram_write_, e->vcpu)) return false;
  }
  return true;
}

// Writes the log's next device write (e, its head) into RAM and consumes it; false, with the
// divergence said, when it does not fit the replaying machine's RAM.
bool Replayer::write_logged(const Event& e, const RamWrite& write, uint32_t vcpu) {
  if (write(e.args[arg::kRamAddr], e.data.data(), e.data.size()) != 0) {
    session_.diverge_here(fmt::format("the logged device write of {} bytes at RAM address {:#x} does not fit "
                                      "the replaying machine's RAM",
                                      e.data.size(), e.args[arg::kRamAddr]),
                          vcpu, nullptr);
    return false;
  }
  session_.take();
  return true;
}

Replayer::Step Replayer::stop_if_diverged() {
  if (session_.divergence()) return Step::Stop;
  progress();
  return Step::Continue;
}

void Replayer::progress() {
  if ((session_.consumed() & 0xfff) != 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::seconds(2)) return;
  last_progress_ = now;
  fprintf(stderr, "kvm-rr replay: %llu of %llu events (%.0f%%), %llu kernel entries\n",
          (unsigned long long)session_.consumed(), (unsigned long long)total_events_,
          total_events_ ? 100.0 * session_.consumed() / total_events_ : 100.0, (unsigned long long)kernel_entries_);
}

Replayer::Step Replayer::fed(const Event& e) {
  fed_.push_back(e);
  return stop_if_diverged();
}

Replayer::Step Replayer::device_read(EventType type, uint32_t vcpu, const Regs& regs, uint64_t where, uint32_t size,
                                     uint64_t* value) {
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.expect(type, vcpu, regs);
  if (!e) return Step::Stop;
  if (e->args[arg::kWhere] != where || e->args[arg::kSize] != size) {
    session_.diverge_here(fmt::format("{} of {:#x} ({} bytes) at {}; the log read {:#x} ({} bytes)",
                                      type == EventType::IoIn ? "IN from port" : "MMIO read", where, size,
                                      session_.sym(regs.rip), e->args[arg::kWhere], e->args[arg::kSize]),
                          vcpu, &regs);
    return Step::Stop;
  }
  *value = e->args[arg::kDeviceValue];
  return check_digests(vcpu);
}

Replayer::Step Replayer::io_in(uint32_t vcpu, const Regs& regs, uint16_t port, uint32_t size, uint64_t* value) {
  return device_read(EventType::IoIn, vcpu, regs, port, size, value);
}

Replayer::Step Replayer::mmio_read(uint32_t vcpu, const Regs& regs, uint64_t gpa, uint32_t size, uint64_t* value) {
  return device_read(EventType::Mmio, vcpu, regs, gpa, size, value);
}

Replayer::Step Replayer::sync_point(uint32_t vcpu, const Regs& regs, uint64_t sync_count, bool halted, int32_t* vector,
                                    bool* switched) {
  *vector = -1;
  *switched = false;
  bool left = false;  // the log left this vCPU here to run another
  for (;;) {
    if (ended()) return Step::Stop;
    const Event* e = session_.peek();
    if (e->vcpu != vcpu) {
      // Another vCPU's event is next. Run on unless the log stops this one right here: a
      // halted vCPU waits for its interrupt, a descheduled one for its resume, and one
      // whose next event is an interrupt or deschedule at this sync point, or a resume,
      // waits for its turn.
      if (halted || left) return Step::Wait;
      const Event* mine = session_.peek_vcpu(vcpu);
      bool here = mine && mine->nargs >= 3 && mine->type == EventType::Interrupt && mine->args[arg::kUser] == 0 &&
                  mine->args[arg::kIrqSync] == sync_count;
      here |=
          mine && mine->type == EventType::Deschedule && mine->nargs >= 1 && mine->args[arg::kSwitchSync] == sync_count;
      here |= mine && mine->type == EventType::Resume;
      here |= is_anchored_digest(mine) && mine->args[arg::kDigestSync] == sync_count;
      return here ? Step::Wait : Step::Continue;
    }
    if (left) {
      // Left here, yet the log has more for this vCPU before another one runs: under KVM, a
      // device write made while no vCPU held the kernel, anchored at this sync point. It is
      // done when this vCPU's turn comes, still parked here; it never runs on past the
      // point where the recorder left it.
      return Step::Wait;
    }
    if (is_anchored_digest(e) && e->args[arg::kDigestSync] == sync_count) {
      // Taken while the guest wrote here (a checkpoint's ring flush, the stop).
      if (!verify_digest(*e, vcpu)) return Step::Stop;
      session_.take();
      continue;
    }
    if (is_anchored_digest(e) && e->args[arg::kDigestSync] < sync_count) {
      session_.diverge_here(
          fmt::format("vCPU {} passed sync point {} where the recording took memory digest #{}; it is "
                      "at sync point {}",
                      vcpu, e->args[arg::kDigestSync], e->args[arg::kDigestSeq], sync_count),
          vcpu, &regs);
      return Step::Stop;
    }
    if ((e->type == EventType::Cfu || e->type == EventType::Gfu) && vcpu < chunks_ahead_.size() &&
        chunks_ahead_[vcpu]) {
      // A chunk of a user read written ahead: the guest appends it right after this sync point.
      chunks_ahead_[vcpu]--;
      if (fed(*session_.take()) == Step::Stop) return Step::Stop;
      continue;
    }
    if ((e->type == EventType::Deschedule || e->type == EventType::Resume) && e->nargs >= 1) {
      bool resume = e->type == EventType::Resume;
      if (e->args[arg::kSwitchSync] == sync_count) {
        // The recorder switched vCPUs here: so does replay, once this vCPU is checked to be
        // where the recorder left it or ran it again.
        if (!session_.expect(e->type, vcpu, regs)) return Step::Stop;
        if (check_digests(vcpu) == Step::Stop) return Step::Stop;
        *switched = true;
        left = !resume;
        continue;
      }
      if (resume || e->args[arg::kSwitchSync] < sync_count) {
        session_.diverge_here(
            resume ? fmt::format("vCPU {} runs again at sync point {}; the recording ran it again at sync point {}",
                                 vcpu, sync_count, e->args[arg::kSwitchSync])
                   : fmt::format("vCPU {} passed sync point {} where the recording left it to run another vCPU; it "
                                 "is at sync point {}",
                                 vcpu, e->args[arg::kSwitchSync], sync_count),
            vcpu, &regs);
        return Step::Stop;
      }
    }
    bool kernel_irq = e->type == EventType::Interrupt && e->nargs >= 3 && e->args[arg::kUser] == 0;
    if (kernel_irq && e->args[arg::kIrqSync] == sync_count) {
      *vector = static_cast<int32_t>(e->args[arg::kVector]);
      return Step::Continue;
    }
    if (kernel_irq && e->args[arg::kIrqSync] < sync_count) {
      session_.diverge_here(fmt::format("vCPU {} passed sync point {} where the log delivers interrupt {:#x}; "
                                        "it is at sync point {}",
                                        vcpu, e->args[arg::kIrqSync], e->args[arg::kVector], sync_count),
                            vcpu, nullptr);
      return Step::Stop;
    }
    if (halted) {
      session_.diverge_here(
          fmt::format("vCPU {} halted (sync point {}) but the log has no interrupt for it there", vcpu, sync_count),
          vcpu, nullptr);
      return Step::Stop;
    }
    return Step::Continue;
  }
}

Replayer::Step Replayer::interrupt(uint32_t vcpu, const Regs& regs, uint32_t vector) {
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.expect(EventType::Interrupt, vcpu, regs);
  if (!e) return Step::Stop;
  if (e->args[arg::kVector] != vector) {
    session_.diverge_here(fmt::format("delivered vector {:#x}, the log has {:#x}", vector, e->args[arg::kVector]), vcpu,
                          &regs);
    return Step::Stop;
  }
  return stop_if_diverged();
}

Replayer::Step Replayer::user_return(uint32_t vcpu, const Regs& regs) {
  if (vcpu >= pending_return_.size()) pending_return_.resize(vcpu + 1);
  pending_return_[vcpu] = PendingReturn{true, regs.gpr[0], regs.rip};
  return Step::Continue;
}

Replayer::Cursor Replayer::cursor(uint32_t vcpu) const {
  Cursor c = vcpu < vcpu_entries_.size() ? vcpu_entries_[vcpu] : Cursor{};
  c.events = session_.consumed();
  return c;
}

void Replayer::note_entry(uint32_t vcpu, const Event& e) {
  std::optional<uint64_t> pid = entry_pid(e);
  if (vcpu >= vcpu_entries_.size()) vcpu_entries_.resize(vcpu + 1);
  vcpu_entries_[vcpu].entries++;
  vcpu_entries_[vcpu].entry_pid = pid.value_or(0);
  uint64_t index = session_.consumed() - 1;
  PendingReturn ret;
  if (vcpu < pending_return_.size()) std::swap(ret, pending_return_[vcpu]);
  if (!pid) return;
  auto last = last_entry_of_task_.find(*pid);
  if (ret.valid && last != last_entry_of_task_.end()) returns_.returns.push_back({last->second, ret.rax, ret.rip});
  last_entry_of_task_[*pid] = index;
}

Replayer::Step Replayer::user_entry(uint32_t vcpu, UserEntry* entry) {
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.expect_entry(vcpu);
  if (!e) return Step::Stop;
  if (e->data.size() != sizeof entry->regs) {
    session_.diverge_here(fmt::format("kernel entry with a {}-byte register file", e->data.size()), vcpu, nullptr);
    return Step::Stop;
  }
  *entry = UserEntry{};
  entry->vector = static_cast<uint32_t>(e->args[arg::kVector]);
  switch (e->type) {
    case EventType::Syscall: entry->kind = UserEntry::Kind::Syscall; break;
    case EventType::Exception:
      entry->kind = UserEntry::Kind::Exception;
      entry->error_code = e->args[arg::kErrorCode];
      entry->cr2 = e->args[arg::kCr2];
      break;
    default: entry->kind = UserEntry::Kind::Interrupt; break;
  }
  memcpy(entry->regs.data(), e->data.data(), sizeof entry->regs);
  note_entry(vcpu, *e);
  kernel_entries_++;
  if (vcpu < entry_performed_.size()) entry_performed_[vcpu] = true;
  return fed(*e);
}

// A snapshot taken between a vCPU's entry from user mode and the guest logging it leaves
// that entry first in the log, though replay starts past it, in kernel mode.
Replayer::Step Replayer::entry_logged(uint32_t vcpu, uint64_t sync_count, const RamWrite& write) {
  if (vcpu < entry_performed_.size() && entry_performed_[vcpu]) {
    entry_performed_[vcpu] = false;
    return Step::Continue;
  }
  if (write) {
    if (Step s = dma(vcpu, sync_count, DmaTiming::InUser, write); s != Step::Continue) return s;
  }
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.expect_entry(vcpu);
  if (!e) return Step::Stop;
  note_entry(vcpu, *e);
  kernel_entries_++;
  return fed(*e);
}

Replayer::Step Replayer::tsc(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t* value) {
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  Regs at = regs;
  at.rip = rip;
  const Event* e = session_.expect(EventType::Rdtsc, vcpu, at);
  if (!e) return Step::Stop;
  *value = e->args[arg::kValue];
  return fed(*e);
}

Replayer::Step Replayer::user_read(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t uaddr, uint64_t len,
                                   uint32_t kind, uint64_t copy, const GuestWrite& write) {
  // Mirrors kvmrr_user_read(): the same clipping and chunking, so the same records. Shared
  // memory (io_uring rings, remote pages) comes at its kernel address. With a copy, the
  // kernel has read the bytes already (from replay's stale user memory): they go into its
  // copy, and into user memory, which then holds what the kernel last read there.
  if (kind != KVMRR_UREAD_SHARED) {
    if (uaddr >= kTaskSizeMax) return Step::Continue;
    len = std::min(len, kTaskSizeMax - uaddr);
  }
  Regs at = regs;
  at.rip = rip;
  if (len) {
    if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  }
  const EventType type = kind == KVMRR_UREAD_SCALAR ? EventType::Gfu : EventType::Cfu;
  for (bool first = true; len; first = false) {
    if (ended()) return Step::Stop;
    if (const Event* next = session_.peek(); !first && (next->vcpu != vcpu || next->type != type)) {
      // The guest's ring filled up after the last chunk: its flush is a sync point, where the
      // recorder logged device writes or left the vCPU. The rest comes after them.
      return write_chunks_ahead(vcpu, at, uaddr, len, kind, copy, type, write);
    }
    const Event* e = session_.expect(type, vcpu, at);
    if (!e) return Step::Stop;
    uint64_t n = std::min<uint64_t>(len, KVMRR_USER_CHUNK);
    uint64_t got = e->args[arg::kReadLen];
    if (e->args[arg::kUaddr] != uaddr || e->args[arg::kKind] != kind || got > n) {
      session_.diverge_here(
          fmt::format("user read of {} bytes at {:#x} (kind {}) from {}; the log read {} bytes "
                      "at {:#x} (kind {})",
                      n, uaddr, kind, session_.sym(rip), got, e->args[arg::kUaddr], e->args[arg::kKind]),
          vcpu, &at);
      return Step::Stop;
    }
    bool done = false;
    if (!put_chunk(*e, vcpu, at, n, kind, copy, write, &done)) return Step::Stop;
    if (fed(*e) == Step::Stop) return Step::Stop;
    if (done) break;
    uaddr += got;
    if (copy) copy += got;
    len -= got;
  }
  return Step::Continue;
}

Replayer::Step Replayer::user_value(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t uaddr, uint64_t size,
                                    uint64_t* value, const GuestWrite& write) {
  Regs at = regs;
  at.rip = rip;
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.expect(EventType::Gfu, vcpu, at);
  if (!e) return Step::Stop;
  if (e->nargs < 3 || e->args[arg::kUaddr] != uaddr || e->args[arg::kReadLen] != size ||
      e->args[arg::kKind] != KVMRR_UREAD_SCALAR || size > sizeof(*value) || e->data.size() != size) {
    session_.diverge_here(fmt::format("value of {} bytes loaded from user memory at {:#x} in {}; the log has {} "
                                      "bytes at {:#x}",
                                      size, uaddr, session_.sym(rip), e->nargs >= 2 ? e->args[arg::kReadLen] : 0,
                                      e->nargs >= 1 ? e->args[arg::kUaddr] : 0),
                          vcpu, &at);
    return Step::Stop;
  }
  uint64_t v = 0;
  memcpy(&v, e->data.data(), size);  // little-endian, as the guest logged it
  *value = v;
  // User memory then holds what the kernel last read there, as with copies; where it is not
  // mapped, the kernel's own load would have faulted, so it is.
  write(uaddr, e->data.data(), size);
  return fed(*e);
}

// Writes a logged chunk (at most n bytes asked) back into user memory; *done when the guest's
// read stops there (a short copy, or a string's NUL). False after a divergence.
bool Replayer::put_chunk(const Event& e, uint32_t vcpu, const Regs& at, uint64_t n, uint32_t kind, uint64_t copy,
                         const GuestWrite& write, bool* done) {
  uint64_t uaddr = e.args[arg::kUaddr], got = e.args[arg::kReadLen];
  uint64_t to = copy ? copy : uaddr;
  if (got && write(to, e.data.data(), got) != 0) {
    session_.diverge_here(fmt::format("cannot put the {} logged user bytes {} {:#x}: not mapped in the "
                                      "replayed guest",
                                      got, copy ? "into the kernel's copy at" : "back at", to),
                          vcpu, &at);
    return false;
  }
  if (copy && got) write(uaddr, e.data.data(), got);  // mapped: the kernel just read it
  *done = got < n || (kind == KVMRR_UREAD_STRING && memchr(e.data.data(), 0, got));
  return true;
}

// The guest copies the remaining chunks from user memory after the flush, with no hook of
// its own: their bytes go into user memory now, and their events are consumed where the
// guest appends them, right after that sync point (Replayer::sync_point).
Replayer::Step Replayer::write_chunks_ahead(uint32_t vcpu, const Regs& at, uint64_t uaddr, uint64_t len, uint32_t kind,
                                            uint64_t copy, EventType type, const GuestWrite& write) {
  uint32_t ahead = 0;
  for (size_t nth = 0; len;) {
    const Event* e = session_.peek_vcpu(vcpu, nth++);
    if (e && (e->type == EventType::Dma || e->type == EventType::Pte || e->type == EventType::Deschedule ||
              e->type == EventType::Resume)) {
      continue;  // logged at the flush's sync point
    }
    uint64_t n = std::min<uint64_t>(len, KVMRR_USER_CHUNK);
    if (!e || e->type != type || e->nargs < 3 || e->args[arg::kUaddr] != uaddr || e->args[arg::kKind] != kind ||
        e->args[arg::kReadLen] > n) {
      session_.diverge_here(
          fmt::format("user read at {:#x} from {}: {} bytes at {:#x} remain after the guest's ring flush inside "
                      "it, but the log's next event of vCPU {} is {}",
                      at.rip, session_.sym(at.rip), len, uaddr, vcpu, e ? to_string(e->type) : "none"),
          vcpu, &at);
      return Step::Stop;
    }
    bool done = false;
    if (!put_chunk(*e, vcpu, at, n, kind, copy, write, &done)) return Step::Stop;
    ahead++;
    if (done) break;
    uaddr += e->args[arg::kReadLen];
    if (copy) copy += e->args[arg::kReadLen];
    len -= e->args[arg::kReadLen];
  }
  chunks_ahead_[vcpu] += ahead;
  return Step::Continue;
}

Replayer::Step Replayer::yield_point(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t count, uint32_t* open) {
  *open = 0;
  if (vcpu >= yield_windows_.size() || next_window_[vcpu] >= yield_windows_[vcpu].size()) {
    return Step::Continue;
  }
  const Window& w = yield_windows_[vcpu][next_window_[vcpu]];
  if (w.count != count) return Step::Continue;
  if (w.rip != rip) {
    Regs at = regs;
    at.rip = rip;
    session_.diverge_here(fmt::format("yield point {} of vCPU {} is at {}; the log opens a window at yield "
                                      "point {} at {}",
                                      count, vcpu, session_.sym(rip), w.count, session_.sym(w.rip)),
                          vcpu, &at);
    return Step::Stop;
  }
  *open = static_cast<uint32_t>(w.pending);
  return Step::Continue;
}

Replayer::Step Replayer::yield_window(uint32_t vcpu, uint64_t count, uint64_t* next_target) {
  *next_target = kNoWindow;
  if (Step s = my_turn(vcpu); s != Step::Continue) return s;
  const Event* e = session_.peek();
  if (e->type != EventType::YieldWindow || e->vcpu != vcpu || e->args[arg::kYield] != count) {
    session_.diverge_here(fmt::format("vCPU {} opened a yield window at yield count {}; the log does not have "
                                      "it next",
                                      vcpu, count),
                          vcpu, nullptr);
    return Step::Stop;
  }
  Event fed_event = *session_.take();
  if (vcpu < yield_windows_.size()) {
    size_t& i = next_window_[vcpu];
    i++;
    if (i < yield_windows_[vcpu].size()) *next_target = yield_windows_[vcpu][i].count;
  }
  return fed(fed_event);
}

static const char* dma_when(DmaTiming during_io) {
  return during_io == DmaTiming::InAccess    ? " (inside a device access)"
         : during_io == DmaTiming::BeforeRun ? " (before the vCPU ran)"
         : during_io == DmaTiming::InUser    ? " (in user mode)"
         : during_io == DmaTiming::Between   ? " (no vCPU in the kernel)"
                                             : "";
}

// Whether a device write made `made` is done where the vCPU is (`at`, at its sync point):
// inside a device access only that access's writes; at a kernel sync point (or halt) the
// writes made while the vCPU was parked there, not those made once it had gone on to user
// mode (the recorded vCPU ran the rest of its way out of the kernel before them); about to
// enter the kernel, both.
static bool dma_due_at(DmaTiming made, DmaTiming at) {
  switch (at) {
    case DmaTiming::InAccess: return made == DmaTiming::InAccess;
    case DmaTiming::AtSyncPoint: return made == DmaTiming::AtSyncPoint;
    case DmaTiming::InUser: return made == DmaTiming::AtSyncPoint || made == DmaTiming::InUser;
    case DmaTiming::BeforeRun: return false;
    case DmaTiming::Between: return false;
  }
  return false;
}

Replayer::Step Replayer::dma(uint32_t vcpu, uint64_t sync_count, DmaTiming during_io, const RamWrite& write) {
  if (!ram_write_) ram_write_ = write;
  if (during_io != DmaTiming::BeforeRun && !apply_between()) return Step::Stop;
  if (const Event* head = session_.peek(); head && head->vcpu != vcpu) {
    // Another vCPU's event is next: wait if this vCPU's next one is a device write due here.
    if (during_io == DmaTiming::BeforeRun) return Step::Continue;
    const Event* mine = session_.peek_vcpu(vcpu);
    bool due = mine && (mine->type == EventType::Dma || mine->type == EventType::Pte) && mine->nargs >= 4 &&
               mine->args[arg::kWriteSync] <= sync_count && dma_due_at(DmaTiming(mine->args[arg::kInIo]), during_io);
    return due ? Step::Wait : Step::Continue;
  }
  for (const Event* e; (e = session_.peek()) && e->vcpu == vcpu;) {
    if (during_io == DmaTiming::AtSyncPoint && is_anchored_digest(e) && e->args[arg::kDigestSync] == sync_count) {
      // Taken during the guest's port write that made this sync point, before the devices
      // the vCPU let run there wrote: checked before their writes.
      if (!verify_digest(*e, vcpu)) return Step::Stop;
      session_.take();
      continue;
    }
    if (e->type != EventType::Dma && e->type != EventType::Pte) break;
    if (is_between_write(e)) {
      if (!apply_between()) return Step::Stop;
      continue;
    }
    DmaTiming made = DmaTiming(e->args[arg::kInIo]);
    if (during_io == DmaTiming::BeforeRun) {
      // Replay begins: only what devices wrote before the vCPU first ran.
      if (made != DmaTiming::BeforeRun) break;
    } else {
      // Inside a device access only that access's own writes are due; the others wait
      // for the next sync point or kernel entry. At a kernel sync point, writes made once
      // the vCPU was in user mode wait for its next kernel entry.
      if (during_io == DmaTiming::InAccess && made != DmaTiming::InAccess && made != DmaTiming::BeforeRun) break;
      if (during_io == DmaTiming::AtSyncPoint && made == DmaTiming::InUser && e->args[arg::kWriteSync] == sync_count)
        break;
      // Writes of a later sync point wait for it.
      if (made != DmaTiming::BeforeRun && e->args[arg::kWriteSync] > sync_count) break;
      if (e->args[arg::kWriteSync] != sync_count || !dma_due_at(made, during_io)) {
        session_.diverge_here(
            fmt::format("vCPU {} is at sync point {}{}; the log's next device write into guest "
                        "memory was made at sync point {}{}",
                        vcpu, sync_count, dma_when(during_io), e->args[arg::kWriteSync], dma_when(made)),
            vcpu, nullptr);
        return Step::Stop;
      }
    }
    if (!write_logged(*e, write, vcpu)) return Step::Stop;
  }
  return stop_if_diverged();
}

namespace {

// Where two events that look alike differ in their data: by register for a kernel entry's
// user register file (pt_regs order), else the first differing byte.
std::string data_difference(const Event& got, const Event& want) {
  if (got.data == want.data) return "";
  if (is_user_entry(got) && got.data.size() == want.data.size() &&
      got.data.size() == sizeof(uint64_t) * kPtRegsNames.size()) {
    std::string out = "; user registers differ:";
    for (size_t i = 0; i < kPtRegsNames.size(); i++) {
      uint64_t a, b;
      memcpy(&a, got.data.data() + i * 8, 8);
      memcpy(&b, want.data.data() + i * 8, 8);
      if (a != b) out += fmt::format(" {} {:#x} (replayed) vs {:#x} (recorded)", kPtRegsNames[i], a, b);
    }
    return out;
  }
  size_t i = 0;
  while (i < got.data.size() && i < want.data.size() && got.data[i] == want.data[i]) i++;
  return fmt::format("; data differs from byte {} ({} vs {} bytes)", i, got.data.size(), want.data.size());
}

}  // namespace

Replayer::Step Replayer::guest_records(const uint8_t* records, size_t size) {
  std::vector<Event> logged;
  try {
    logged = parse_guest_records(records, size);
  } catch (const RecordingError& err) {
    session_.diverge_here(fmt::format("the replayed kernel's event ring is malformed: {}", err.what()), 0, nullptr);
    return Step::Stop;
  }
  for (Event& r : logged) {
    if (fed_.empty()) {
      session_.diverge_here(
          fmt::format("the replayed kernel logged an input replay did not feed it: {}", describe(r, &vmlinux_)), r.vcpu,
          nullptr);
      return Step::Stop;
    }
    Event want = fed_.front();
    fed_.pop_front();
    want.digest = r.digest = 0;
    if (!(r == want)) {
      session_.diverge_here(fmt::format("the replayed kernel logged {}; it was fed {}{}", describe(r, &vmlinux_),
                                        describe(want, &vmlinux_), data_difference(r, want)),
                            r.vcpu, nullptr);
      return Step::Stop;
    }
  }
  return Step::Continue;
}

void Replayer::load_cpuid_table(const RecordingMeta& m) {
  // Recordings from before the table have none: QEMU's model answers then.
  for (const CpuidEntry& e : m.cpuid) cpuid_[{e.leaf, e.subleaf}] = {e.eax, e.ebx, e.ecx, e.edx};
  if (auto b = cpuid_.find({0, 0}); b != cpuid_.end()) cpuid_max_basic_ = b->second[0];
  if (auto x = cpuid_.find({0x80000000u, 0}); x != cpuid_.end()) cpuid_max_ext_ = x->second[0];
}

bool Replayer::cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) const {
  bool covered = cpuid_.count({0, 0}) && (leaf <= cpuid_max_basic_ || (leaf >= 0x80000000u && leaf <= cpuid_max_ext_));
  if (!covered) return false;
  auto it = cpuid_.find({leaf, cpuid_has_subleaves(leaf) ? subleaf : 0});
  for (int i = 0; i < 4; i++) out[i] = it == cpuid_.end() ? 0 : it->second[i];
  return true;
}

int Replayer::finish(const GuestRead& read) {
  using namespace std::chrono;
  using Result = ReplayVerdict::Result;
  ReplayVerdict v;
  v.recording = recording_.dir().string();
  v.events_replayed = session_.consumed();
  v.events_total = total_events_;
  v.kernel_entries = kernel_entries_;
  v.memory_digests_checked = digests_checked_;
  v.memory_digests_unchecked = digests_unchecked_;
  v.seconds = duration<double>(steady_clock::now() - started_).count();
  int status;
  if (const auto& d = session_.divergence()) {
    std::string report = session_.report();
    if (d->actual) report += describe_kernel_stack(*d->actual, vmlinux_, read);
    v.result = Result::Diverged;
    v.divergence = ReplayVerdict::Divergence{d->event_index, d->vcpu, d->what, report};
    fprintf(stderr, "%s", report.c_str());
    status = 1;
  } else if (log_ended_) {
    const StreamEnd& end = session_.stream_end();
    v.result = end.complete ? Result::Ok : Result::Incomplete;
    if (!end.complete) v.incomplete_reason = end.reason;
    status = 0;
  } else {
    v.result = Result::Stopped;
    status = 2;
  }
  try {
    v.write(recording_.dir());
  } catch (const RecordingError& e) {
    fprintf(stderr, "kvm-rr replay: %s\n", e.what());
    return 2;
  }
  // Only `kvm-rr syscalls` needs them: a disk too full for them leaves the verdict standing.
  try {
    returns_.events_replayed = v.events_replayed;
    returns_.write(recording_.dir());
  } catch (const RecordingError& e) {
    fprintf(stderr, "kvm-rr replay: warning: no return values for kvm-rr syscalls: %s\n", e.what());
  }
  return status;
}

}  // namespace kvmrr
