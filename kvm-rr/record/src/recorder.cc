#include "kvmrr/recorder.h"

#include <cctype>
#include <chrono>
#include <cstring>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "kvmrr/build_info.h"
#include "kvmrr/checkpoint.h"
#include "kvmrr/guest_records.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {

namespace fs = std::filesystem;

namespace {

std::string now_utc() { return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr))); }

RecordingMeta meta_for(const RecordSetup& in) {
  RecordingMeta m;
  m.kvmrr_version = "kvm-rr " KVMRR_VERSION " (" KVMRR_GIT ")";
  m.qemu_version = in.qemu_version;
  m.qemu_patches = in.qemu_patches;
  m.command_line = in.command_line;
  m.guest_command = in.guest_command;
  m.accel = in.accel;
  // QEMU names its accelerators "tcg" and "KVM"; the recording says "tcg" or "kvm".
  for (char& c : m.accel) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  m.cpu_model = in.cpu_model;
  m.smp = in.smp;
  m.memory_mb = in.memory_mb;
  m.created = now_utc();
  if (!in.vmlinux.empty()) {
    Vmlinux vmlinux(in.vmlinux);  // a wrong or stripped vmlinux fails the start, loudly
    m.kernel_version = vmlinux.banner();
    m.vmlinux_build_id = vmlinux.build_id();
  }
  m.machine = in.machine;
  m.guest_ring_gpa = in.guest_ring_gpa;
  m.cpuid = in.cpuid;
  m.pmem = in.pmem;
  m.state = "recording";
  return m;
}

}  // namespace

Recorder::Recorder(const RecordSetup& setup)
    : recording_(Recording::create(setup.dir, meta_for(setup))), digest_policy_(setup.digests) {
  writer_ = recording_.create_events();
  if (digest_policy_.mode != DigestPolicy::Mode::Off) {
    digest_summary_.policy = digest_policy_.to_string();
    digest_summary_.rules = kDigestRules;
    digest_summary_.end = "not taken: the recording was not stopped by the guest (kvm-rr-ctl stop)";
    if (setup.vmlinux.empty()) {
      digest_summary_.end = "no digests: no vmlinux named for the recording";
    } else {
      try {
        vmlinux_ = std::make_unique<Vmlinux>(setup.vmlinux);
        kernel_memory_ = std::make_unique<KernelMemory>(*vmlinux_, setup.guest_ring_gpa);
      } catch (const RecordingError& e) {
        digest_summary_.end = fmt::format("no digests: {}", e.what());
      }
    }
  }
}

void Recorder::attach_memory(const uint8_t* ram, uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (!kernel_memory_) return;
  try {
    memory_ = GuestMemory::from_ram(ram, bytes, *vmlinux_);
  } catch (const RecordingError& e) {
    digest_summary_.end = fmt::format("no digests: {}", e.what());
    kernel_memory_.reset();
  }
}

void Recorder::track_writes(std::function<bool(std::vector<uint8_t>&)> written_since_last) {
  std::lock_guard lock(mu_);
  memory_.written_since_last = std::move(written_since_last);
}

void Recorder::digest_if_due(uint32_t vcpu) {
  if (!kernel_memory_) return;
  std::lock_guard lock(mu_);
  if (!memory_.ram || !writer_ || !failure_.empty()) return;
  DigestPolicy::Mode mode = digest_policy_.mode;
  uint64_t written = writer_->events_written();
  if (mode == DigestPolicy::Mode::Every && written - events_at_digest_ >= digest_policy_.every) {
    take_digest(DigestPoint::Periodic, vcpu);
  } else if (mode != DigestPolicy::Mode::End && checkpoint_pending_) {
    take_digest(DigestPoint::Checkpoint, vcpu);
  }
}

void Recorder::take_digest(DigestPoint point, uint32_t vcpu, std::optional<uint64_t> sync_point) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<PageDigest> now;
  try {
    now = kernel_memory_->digest(memory_, point != DigestPoint::End);
  } catch (const RecordingError& e) {
    // The guest is not the kernel the digests know: the recording goes on without them.
    digest_summary_.end = fmt::format("no digests: {}", e.what());
    fprintf(stderr, "kvm-rr record: memory digests off: %s\n", e.what());
    kernel_memory_.reset();
    return;
  }
  Event e;
  e.type = EventType::MemDigest;
  e.vcpu = vcpu;
  e.push_arg(static_cast<uint64_t>(point));
  e.push_arg(++digest_summary_.taken);
  e.push_arg(now.size());
  std::vector<PageDigest> delta = digest_table_.advance(now);
  e.push_arg(digest_table_.combined());
  if (sync_point) e.push_arg(*sync_point);
  e.data = encode_digests(delta);
  writer_->append(e);
  checkpoint_pending_ = false;
  events_at_digest_ = writer_->events_written();
  digest_summary_.pages = now.size();
  digest_summary_.hashed += kernel_memory_->last_hashed();
  digest_summary_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Recorder::guest_point(uint32_t vcpu, uint64_t sync_point, bool stop) {
  if (!kernel_memory_) return;
  std::lock_guard lock(mu_);
  if (!memory_.ram || !writer_ || !failure_.empty()) return;
  if (stop) {
    take_digest(DigestPoint::End, vcpu, sync_point);
    if (kernel_memory_) digest_summary_.end = "taken";
  } else if (checkpoint_pending_ && digest_policy_.mode != DigestPolicy::Mode::End) {
    take_digest(DigestPoint::Checkpoint, vcpu, sync_point);
  } else if (digest_policy_.mode == DigestPolicy::Mode::Every &&
             writer_->events_written() - events_at_digest_ >= digest_policy_.every) {
    // The ring flushes as it fills: the one point that comes often in a kernel-heavy run.
    take_digest(DigestPoint::Periodic, vcpu, sync_point);
  }
}

Recorder::~Recorder() = default;

void Recorder::append(Event e, uint32_t vcpu, const Regs& regs) {
  e.vcpu = vcpu;
  e.rip = regs.rip;
  e.digest = register_digest(regs);
  e.data = pack_regs(regs);
  write(e);
}

// Events after a failure are dropped: the recording is already marked failed.
void Recorder::write(const Event& e) {
  std::lock_guard lock(mu_);
  if (writer_ && failure_.empty()) {
    writer_->append(e);
    count(e);
  }
}

void Recorder::count(const Event& e) {
  switch (e.type) {
    case EventType::Syscall: counters_.syscalls++; break;
    case EventType::Exception: counters_.exceptions++; break;
    case EventType::Interrupt:
      counters_.interrupts++;
      if (e.nargs > arg::kUser && e.args[arg::kUser]) counters_.user_interrupts++;
      if (e.args[arg::kVector] == kTimerVector || e.args[arg::kVector] == kLegacyTimerVector) {
        counters_.timer_interrupts++;
      }
      break;
    default: break;
  }
}

std::string Recorder::identify_kernel(const PhysRead& read, uint64_t ram_bytes) {
  std::lock_guard lock(mu_);
  std::optional<KernelIdentity> id = find_kernel_identity(read, ram_bytes);
  if (!id) return {};
  RecordingMeta m = recording_.meta();
  if (!m.vmlinux_build_id.empty()) {
    // The named vmlinux stays the recording's: memory is searched, the file is known.
    if (m.vmlinux_build_id == id->build_id) return {};
    return fmt::format(
        "guest memory holds a kernel build-id {}, not that of the vmlinux named for it ({}); "
        "if replay refuses that vmlinux, the guest ran another kernel",
        id->build_id, m.vmlinux_build_id);
  }
  m.vmlinux_build_id = id->build_id;
  if (!id->banner.empty()) m.kernel_version = id->banner;
  recording_.write_meta(m);
  return {};
}

void Recorder::set_qemu_counts(const std::map<std::string, uint64_t>& exits, uint64_t bql_handoffs,
                               uint64_t token_handoffs) {
  std::lock_guard lock(mu_);
  counters_.exits = exits;
  counters_.bql_handoffs = bql_handoffs;
  counters_.token_handoffs = token_handoffs;
}

void Recorder::log_io_in(uint32_t vcpu, const Regs& regs, uint16_t port, uint32_t size, uint64_t value) {
  Event e;
  e.type = EventType::IoIn;
  e.push_arg(port);
  e.push_arg(size);
  e.push_arg(value);
  append(std::move(e), vcpu, regs);
  digest_if_due(vcpu);
}

void Recorder::log_mmio_read(uint32_t vcpu, const Regs& regs, uint64_t gpa, uint32_t size, uint64_t value) {
  Event e;
  e.type = EventType::Mmio;
  e.push_arg(gpa);
  e.push_arg(size);
  e.push_arg(value);
  append(std::move(e), vcpu, regs);
  digest_if_due(vcpu);
}

void Recorder::log_interrupt(uint32_t vcpu, const Regs& regs, uint32_t vector, uint64_t sync_point) {
  Event e;
  e.type = EventType::Interrupt;
  e.push_arg(vector);
  e.push_arg(regs.cpl == 3);
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_deschedule(uint32_t vcpu, const Regs& regs, uint64_t sync_point) {
  Event e;
  e.type = EventType::Deschedule;
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
  digest_if_due(vcpu);
}

void Recorder::log_resume(uint32_t vcpu, const Regs& regs, uint64_t sync_point) {
  Event e;
  e.type = EventType::Resume;
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
  digest_if_due(vcpu);
}

void Recorder::log_dma(uint32_t vcpu, uint64_t sync_point, DmaTiming during_io, uint64_t ram_addr, const uint8_t* data,
                       size_t len, EventType type) {
  Event e;
  e.type = type;
  e.vcpu = vcpu;
  e.push_arg(ram_addr);
  e.push_arg(len);
  e.push_arg(sync_point);
  e.push_arg(static_cast<uint64_t>(during_io));
  e.data.assign(data, data + len);
  write(e);
}

void Recorder::log_guest_records(const uint8_t* p, size_t size) {
  for (const Event& e : parse_guest_records(p, size)) {
    write(e);
    if (e.type == EventType::Syscall && e.args[arg::kVector] == KVMRR_SYSCALL_CHECKPOINT) {
      std::lock_guard lock(mu_);
      checkpoint_pending_ = true;
    }
  }
}

void Recorder::fail(const std::string& why) {
  std::lock_guard lock(mu_);
  if (failure_.empty()) failure_ = why;
}

// finish() of a failed recording: the events written so far stay readable (flush may fail
// again on a full disk; the stream then ends at its last whole frame), no END frame.

bool Recorder::failed() const {
  std::lock_guard lock(mu_);
  return !failure_.empty();
}

uint64_t Recorder::events() const {
  std::lock_guard lock(mu_);
  return writer_ ? writer_->events_written() : 0;
}

void Recorder::finish() {
  std::lock_guard lock(mu_);
  if (!writer_) return;
  if (!failure_.empty()) {
    // No END frame: readers must not take a failed recording for a whole one.
    try {
      writer_->flush();
    } catch (const RecordingError&) {}
    RecordingMeta m = recording_.meta();
    m.state = "failed";
    m.failure = failure_;
    writer_.reset();
    recording_.write_meta(m);
    throw RecordingError(RecordingError::Kind::Corrupt, recording_.dir(), "recording failed: " + failure_);
  }
  writer_->close();
  RecordingMeta m = recording_.meta();
  if (!digest_summary_.policy.empty()) m.memory_digests = digest_summary_;
  m.state = "complete";
  m.events = writer_->events_written();
  m.ended = now_utc();
  counters_.host_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  m.counters = counters_;
  writer_.reset();
  recording_.write_meta(m);
}

void Recorder::abort(const std::string& why) {
  std::lock_guard lock(mu_);
  writer_.reset();
  RecordingMeta m = recording_.meta();
  m.state = "aborted";
  m.abort_reason = why;
  try {
    recording_.write_meta(m);
  } catch (const RecordingError&) {
    // The start already failed; the caller reports that error.
  }
}

}  // namespace kvmrr
