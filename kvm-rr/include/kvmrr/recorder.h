#pragma once
// The recording side of the core inside QEMU: turns what QEMU observes into a recording
// directory. QEMU reaches it through qemu-abi.h; everything here is plain C++.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvmrr/guest-abi.h"
#include "kvmrr/qemu-abi.h"
#include "kvmrr/recording.h"

namespace kvmrr {

// Digest of the registers an event carries, so replay can check more than RIP. Stable: it
// is stored in recordings.
uint64_t register_digest(const KvmrrRegs& regs);

// The register file QEMU-side events (device reads, kernel-mode interrupts) carry in their
// data, so a divergence report can show which register differs: 16 GPRs, RIP, RFLAGS, CPL
// as little-endian u64s.
inline constexpr size_t kPackedRegsBytes = 19 * 8;
std::vector<uint8_t> pack_regs(const KvmrrRegs& regs);
std::optional<KvmrrRegs> unpack_regs(const std::vector<uint8_t>& data);

class Recorder {
 public:
  // Creates the recording directory, meta.json and the event stream. Identity that QEMU
  // does not know comes from the environment the front end sets: KVMRR_VMLINUX (guest
  // kernel, for its banner and build-id) and KVMRR_GUEST_COMMAND. Throws RecordingError.
  explicit Recorder(const KvmrrRecordInfo& info);
  ~Recorder();

  void log_io_in(uint32_t vcpu, const KvmrrRegs& regs, uint16_t port, uint32_t size, uint64_t value);
  void log_mmio_read(uint32_t vcpu, const KvmrrRegs& regs, uint64_t gpa, uint32_t size, uint64_t value);
  void log_deschedule(uint32_t vcpu, const KvmrrRegs& regs, uint64_t sync_point);
  void log_resume(uint32_t vcpu, const KvmrrRegs& regs, uint64_t sync_point);
  void log_interrupt(uint32_t vcpu, const KvmrrRegs& regs, uint32_t vector, uint64_t sync_point);
  void log_dma(uint32_t vcpu, uint64_t sync_point, uint32_t during_io, uint64_t ram_addr, const uint8_t* data,
               size_t len, EventType type = EventType::Dma);
  // Parses records drained from the guest ring and appends them as events. Throws
  // RecordingError (Corrupt) for malformed records; the recording is then failed.
  void log_guest_records(const uint8_t* records, size_t size);

  // Seals the stream (END frame) and records the totals in meta.json.
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
  void append(Event e, uint32_t vcpu, const KvmrrRegs& regs);
  void write(const Event& e);

  Recording recording_;
  mutable std::mutex mu_;
  std::unique_ptr<TraceWriter> writer_;
  std::string failure_;
};

}  // namespace kvmrr
