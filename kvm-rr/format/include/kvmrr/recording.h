#pragma once
// A recording is a directory:
//   meta.json  what was recorded and how (format version, QEMU and guest kernel identity,
//              command line, CPU model, smp, memory)
//   snapshot   QEMU machine snapshot (migration stream) taken when recording started
//   events     the framed event stream (trace_stream.h)
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kvmrr/error.h"
#include "kvmrr/format.h"
#include "kvmrr/trace_stream.h"

namespace kvmrr {

// One CPUID leaf as the recorded kernel saw it; replay answers from the recorded table.
struct CpuidEntry {
  uint32_t leaf = 0, subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool operator==(const CpuidEntry&) const = default;
};

// The CPUID leaves whose answer depends on ECX. The recorder enumerates their subleaves into
// the table (QEMU asks through the glue), replay answers every other leaf the same for any
// ECX: one list for both sides.
inline bool cpuid_has_subleaves(uint32_t leaf) {
  return leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd || leaf == 0x14 || leaf == 0x1f || leaf == 0x8000001d;
}

// A guest-physical range the guest uses as persistent memory (the pmem pass watches it).
struct PmemRegion {
  uint64_t base = 0, size = 0;
  bool operator==(const PmemRegion&) const = default;
};

// What the recorder counted, for judging a recording's cost (meta.json "counters"): the
// kernel entries the guest made, the interrupts it got and how often its timer ticked per
// host second, and what QEMU saw (KVM_RUN returns by reason, hand-overs to the main loop).
struct RecordCounters {
  double host_seconds = 0;        // recording start to end, by the host's monotonic clock
  uint64_t syscalls = 0;          // kernel entries by system call
  uint64_t exceptions = 0;        // kernel entries by exception from user mode
  uint64_t user_interrupts = 0;   // kernel entries by interrupt in user mode
  uint64_t interrupts = 0;        // every interrupt delivered (user and kernel mode)
  uint64_t timer_interrupts = 0;  // the local APIC timer's (Linux's LOCAL_TIMER_VECTOR)
  // KVM_RUN returns by reason (io_device, io_kvmrr, mmio, hlt, kick, other); empty under TCG.
  std::map<std::string, uint64_t> exits;
  uint64_t bql_handoffs = 0;    // times a waiter (the main loop, a vCPU thread) got the BQL
  uint64_t token_handoffs = 0;  // several vCPUs under KVM: kernel token taken
  bool operator==(const RecordCounters&) const = default;

  uint64_t kernel_entries() const { return syscalls + exceptions + user_interrupts; }
  uint64_t total_exits() const;
};

// What the recorder did about memory digests (kvmrr/memory_digest.h): meta.json's
// "memory_digests", written when the recording ends.
struct MemoryDigestSummary {
  std::string policy;  // "end", "checkpoints" or "every N events" (what --checksum asked)
  uint64_t taken = 0;  // mem_digest events written
  double seconds = 0;  // host time spent taking them
  uint64_t pages = 0;  // pages the last one covered
  std::string end;     // "taken", or why the recording has no digest at its end
  uint32_t rules = 0;  // kvmrr::kDigestRules of the recorder (kvmrr/memory_digest.h)
  // Pages hashed over all of them: a page not written since the digest before keeps its
  // hash (QEMU's dirty log), so this is below taken x pages when the log could tell.
  uint64_t hashed = 0;
  bool operator==(const MemoryDigestSummary&) const = default;
};

// Linux x86's LOCAL_TIMER_VECTOR: the interrupt of the tick.
inline constexpr uint32_t kTimerVector = 0xec;
// ISA IRQ 0's vector (PIT or HPET legacy): the tick when the kernel found the local APIC's
// timer unusable at boot (its calibration under a loaded TCG host can fail).
inline constexpr uint32_t kLegacyTimerVector = 0x30;

struct RecordingMeta {
  uint32_t format_version = kFormatVersion;
  std::string kvmrr_version;  // library that wrote it
  std::string qemu_version;   // e.g. Debian's "1:7.2+dfsg-7+deb12u18"
  std::vector<std::string> qemu_patches;
  std::string kernel_version;             // guest kernel release
  std::string vmlinux_build_id;           // GNU build-id of the vmlinux replay must symbolize with
  std::vector<std::string> command_line;  // QEMU's argv
  std::string guest_command;              // what ran in the guest while recording, if known
  std::string accel;                      // "tcg" or "kvm"
  std::string cpu_model;
  uint32_t smp = 1;
  uint64_t memory_mb = 0;
  std::string created;             // ISO 8601, UTC
  std::string machine;             // QEMU machine type
  uint64_t guest_ring_gpa = 0;     // the guest kernel's event ring (guest-abi.h); 0: none
  std::vector<CpuidEntry> cpuid;   // the recorded CPU's CPUID table; empty: not recorded
  std::optional<PmemRegion> pmem;  // the guest's pmem region, when the front end said
  // "recording" while QEMU writes it, then "complete", "failed" (failure says why) or
  // "aborted" (abort_reason says why); empty in recordings that predate it.
  std::string state;
  std::string failure;
  std::string abort_reason;
  std::optional<uint64_t> events;                     // events written, once complete
  std::string ended;                                  // ISO 8601, UTC, once complete
  std::optional<RecordCounters> counters;             // once complete (recordings since v13 of the ABI)
  std::optional<MemoryDigestSummary> memory_digests;  // once complete, when digests were asked for
  nlohmann::json extra = nlohmann::json::object();    // fields later versions of us may add

  nlohmann::json to_json() const;
  // Throws RecordingError naming `file` for invalid or missing fields and foreign versions.
  static RecordingMeta from_json(const nlohmann::json& j, const std::filesystem::path& file);
};

// How a replaying machine (QEMU's machine type name, RAM in MiB, vCPUs) differs from the
// recording's, each difference with the option that gives the recording's value ("1024 MiB
// of RAM (-m 1024), not 512"), joined by "; "; empty when it is the same machine.
std::string machine_differences(const RecordingMeta& m, const std::string& machine, uint64_t memory_mb, uint32_t smp);

class Recording {
 public:
  static constexpr const char* kMetaFile = "meta.json";
  static constexpr const char* kSnapshotFile = "snapshot";
  static constexpr const char* kEventsFile = "events";

  // Opens an existing recording: parses and checks meta.json, checks the snapshot and event
  // stream exist. Throws RecordingError naming the offending file.
  static Recording open(const std::filesystem::path& dir);
  // Creates dir (must not exist or be empty) and writes meta.json atomically.
  static Recording create(const std::filesystem::path& dir, const RecordingMeta& meta);

  const std::filesystem::path& dir() const { return dir_; }
  const RecordingMeta& meta() const { return meta_; }
  std::filesystem::path meta_path() const { return dir_ / kMetaFile; }
  std::filesystem::path snapshot_path() const { return dir_ / kSnapshotFile; }
  std::filesystem::path events_path() const { return dir_ / kEventsFile; }

  std::unique_ptr<TraceReader> open_events() const;
  std::unique_ptr<TraceWriter> create_events(size_t frame_bytes = TraceWriter::kDefaultFrameBytes) const;
  // Rewrites meta.json atomically (write_file_atomically).
  void write_meta(const RecordingMeta& meta);

 private:
  Recording(std::filesystem::path dir, RecordingMeta meta) : dir_(std::move(dir)), meta_(std::move(meta)) {}
  std::filesystem::path dir_;
  RecordingMeta meta_;
};

// Replaces path with data as one step: a temporary file beside it, fsync, rename. A crash
// or a full disk leaves the old file (or none), never half of the new one. Throws
// RecordingError (Io) naming the file.
void write_file_atomically(const std::filesystem::path& path, std::string_view data);

}  // namespace kvmrr
