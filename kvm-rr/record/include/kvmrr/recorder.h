#pragma once
// The recording side of the core inside QEMU: turns what QEMU observes into a recording
// directory. QEMU reaches it through the glue (kvm-rr/qemu-glue), which also tells it what
// the host process knows (command line, environment); everything here is plain C++.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kvmrr/event.h"
#include "kvmrr/kernel_identity.h"
#include "kvmrr/memory_digest.h"
#include "kvmrr/recording.h"
#include "kvmrr/registers.h"

namespace kvmrr {

// What a recording starts from: the machine as QEMU knows it, and the identity of what runs
// it (the glue reads those from the process and the front end's environment).
struct RecordSetup {
  std::filesystem::path dir;  // recording directory to create
  std::string qemu_version;
  std::vector<std::string> qemu_patches;  // the series QEMU was built with
  std::vector<std::string> command_line;  // QEMU's argv
  std::string accel;                      // QEMU's accelerator name ("tcg", "KVM")
  std::string cpu_model;
  std::string machine;
  uint32_t smp = 1;
  uint64_t memory_mb = 0;
  std::vector<CpuidEntry> cpuid;
  std::optional<PmemRegion> pmem;  // the guest's pmem region, if the front end said
  uint64_t guest_ring_gpa = 0;     // 0: the guest has not registered its ring
  std::filesystem::path vmlinux;   // the guest kernel, for its banner and build-id; may be empty
  std::string guest_command;       // what the guest runs, if the front end said
  DigestPolicy digests;            // memory digests (need `vmlinux` and attach_memory())
};

class Recorder {
 public:
  // Creates the recording directory, meta.json and the event stream. A vmlinux that is not
  // a kernel fails the start. Throws RecordingError.
  explicit Recorder(const RecordSetup& setup);
  ~Recorder();

  void log_io_in(uint32_t vcpu, const Regs& regs, uint16_t port, uint32_t size, uint64_t value);
  void log_mmio_read(uint32_t vcpu, const Regs& regs, uint64_t gpa, uint32_t size, uint64_t value);
  void log_deschedule(uint32_t vcpu, const Regs& regs, uint64_t sync_point);
  void log_resume(uint32_t vcpu, const Regs& regs, uint64_t sync_point);
  void log_interrupt(uint32_t vcpu, const Regs& regs, uint32_t vector, uint64_t sync_point);
  void log_dma(uint32_t vcpu, uint64_t sync_point, DmaTiming during_io, uint64_t ram_addr, const uint8_t* data,
               size_t len, EventType type = EventType::Dma);
  // Parses records drained from the guest ring and appends them as events. Throws
  // RecordingError (Corrupt) for malformed records; the recording is then failed.
  void log_guest_records(const uint8_t* records, size_t size);

  // Names the recorded kernel by what guest memory holds (its build-id note and banner),
  // for recordings whose setup named no vmlinux. When the setup named one, it stays; a
  // different build-id found in memory is returned as a warning (empty when none).
  std::string identify_kernel(const PhysRead& read, uint64_t ram_bytes);

  // Guest RAM, for memory digests. Until QEMU gives it (or without a vmlinux) none are taken.
  void attach_memory(const uint8_t* ram, uint64_t bytes);
  // Which pages were written since the last digest (QEMU's dirty log): periodic and
  // checkpoint digests then hash only those; the end's hashes every page.
  void track_writes(std::function<bool(std::vector<uint8_t>&)> written_since_last);
  // The guest wrote the ring flush port (a checkpoint's, maybe) or asked to stop (stop):
  // vCPU vcpu's sync point sync_point, where replay checks a digest taken now.
  void guest_point(uint32_t vcpu, uint64_t sync_point, bool stop);

  // What QEMU counted (exits by reason, hand-overs), told just before finish().
  void set_qemu_counts(const std::map<std::string, uint64_t>& exits, uint64_t bql_handoffs, uint64_t token_handoffs);

  // Seals the stream (END frame) and records the totals and counters in meta.json.
  void finish();
  // Marks meta.json as abandoned with a reason; the stream stays incomplete.
  void abort(const std::string& why);
  // The recording cannot be trusted any more (malformed guest records): later events are
  // dropped and finish() leaves the stream incomplete, with the reason in meta.json.
  void fail(const std::string& why);
  bool failed() const;

  const Recording& recording() const { return recording_; }
  uint64_t events() const;
  std::string snapshot_path() const { return recording_.snapshot_path().string(); }

 private:
  void append(Event e, uint32_t vcpu, const Regs& regs);
  // After an event both sides reach alike (a device read, a vCPU switch): a digest when the
  // policy wants one now.
  void digest_if_due(uint32_t vcpu);
  // With mu_ held; anchored at a sync point (replay checks it there) or right after the
  // last event.
  void take_digest(DigestPoint point, uint32_t vcpu, std::optional<uint64_t> sync_point = std::nullopt);
  void write(const Event& e);
  void count(const Event& e);

  Recording recording_;
  mutable std::mutex mu_;
  std::unique_ptr<TraceWriter> writer_;
  std::string failure_;
  RecordCounters counters_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  // Memory digests.
  DigestPolicy digest_policy_;
  std::unique_ptr<Vmlinux> vmlinux_;
  std::unique_ptr<KernelMemory> kernel_memory_;
  GuestMemory memory_;
  DigestTable digest_table_;
  MemoryDigestSummary digest_summary_;
  bool checkpoint_pending_ = false;
  uint64_t events_at_digest_ = 0;
};

}  // namespace kvmrr
