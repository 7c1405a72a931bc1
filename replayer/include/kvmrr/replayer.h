#pragma once
// The replay engine inside QEMU: what the replaying QEMU calls (through the glue,
// kvm-rr/qemu-glue, which speaks qemu-abi.h) at each point where the recorder logged an input. It feeds the logged
// value back, checks the replayed kernel got there the same way (ReplaySession), checks what the replayed kernel writes
// to its own event ring against what it was fed, and writes replay.json at the end.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kvmrr/event.h"
#include "kvmrr/kernel_stack.h"
#include "kvmrr/memory_digest.h"
#include "kvmrr/memory_state_log.h"
#include "kvmrr/recording.h"
#include "kvmrr/registers.h"
#include "kvmrr/replay_session.h"
#include "kvmrr/user_returns.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {

// Writes len bytes at a guest virtual address of the vCPU replay is at; 0, or -1 if unmapped.
using GuestWrite = std::function<int(uint64_t vaddr, const void* buf, size_t len)>;
// Writes len bytes of guest RAM at a RAM address; 0, or -1 if there is no RAM there.
using RamWrite = std::function<int(uint64_t ram_addr, const void* buf, size_t len)>;

// A kernel entry from user mode that replay performs instead of running user code.
struct UserEntry {
  enum class Kind : uint32_t { Syscall = 1, Exception = 2, Interrupt = 3 };
  Kind kind = Kind::Syscall;
  uint32_t vector = 0;  // syscall number, exception or interrupt vector
  uint64_t error_code = 0;
  uint64_t cr2 = 0;
  std::array<uint64_t, 21> regs{};  // the user register file, kPtRegsNames order
};

// Where the replaying QEMU stops the guest kernel to feed it: the recorder's functions in
// the recorded vmlinux, found by symbol, and the ring the guest registered.
struct ReplayHooks {
  uint64_t guest_ring_gpa = 0;
  uint64_t tsc = 0;          // kvmrr_tsc(): RDI gets the logged TSC
  uint64_t user_read = 0;    // kvmrr_user_read(): user bytes written
  uint64_t user_value = 0;   // kvmrr_user_value(): RDX gets the value
  uint64_t entry_log = 0;    // kvmrr_log_user_entry()
  uint64_t yield_point = 0;  // kvmrr_yield_point()
  // Yield count of each vCPU's first yield window (UINT64_MAX if none): replay sets the
  // ring's irq_pending at that yield point, as the recorder had.
  std::vector<uint64_t> yield_target;
  uint32_t smp = 1;
};

class Replayer {
 public:
  // The most vCPUs a recording may have for replay.
  static constexpr uint32_t kMaxVcpus = 8;

  // Wait: the log's next event is another vCPU's (turn()); the caller parks this vCPU and
  // calls again when its turn comes. Nothing was consumed.
  enum class Step { Continue, Stop, Wait };

  // Opens the recording and the kernel it was made with (checked by build-id), finds the
  // hook functions by symbol and reads the log once for the yield windows. Throws
  // RecordingError.
  Replayer(const std::filesystem::path& dir, const std::filesystem::path& vmlinux);

  const ReplayHooks& hooks() const { return hooks_; }

  // Guest RAM, for the recording's memory digests: QEMU gives it once the snapshot is loaded.
  // Without it digests go unchecked (replay.json says how many).
  void attach_memory(const uint8_t* ram, uint64_t bytes);
  // Which pages were written since the last digest (QEMU's dirty log): periodic and
  // checkpoint digests then hash only those; the end's hashes every page.
  void track_writes(std::function<bool(std::vector<uint8_t>&)> written_since_last);
  // Also writes all of RAM's page hashes into file at each digest checked (MemoryStateLog).
  // Throws RecordingError (Io) when the file cannot be created.
  void log_memory_state(const std::filesystem::path& file);

  Step io_in(uint32_t vcpu, const Regs& regs, uint16_t port, uint32_t size, uint64_t* value);
  Step mmio_read(uint32_t vcpu, const Regs& regs, uint64_t gpa, uint32_t size, uint64_t* value);
  Step sync_point(uint32_t vcpu, const Regs& regs, uint64_t sync_count, bool halted, int32_t* vector, bool* switched);
  Step interrupt(uint32_t vcpu, const Regs& regs, uint32_t vector);
  // The vCPU is back in user mode with these registers; user_entry() follows (maybe again,
  // after a Wait). Its RAX is the return value of the entry its task made last.
  Step user_return(uint32_t vcpu, const Regs& regs);
  Step user_entry(uint32_t vcpu, UserEntry* entry);
  Step entry_logged(uint32_t vcpu, uint64_t sync_count, const RamWrite& write);
  Step tsc(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t* value);
  Step user_read(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t uaddr, uint64_t len, uint32_t kind,
                 uint64_t copy, const GuestWrite& write);
  Step user_value(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t uaddr, uint64_t size, uint64_t* value,
                  const GuestWrite& write);
  Step yield_point(uint32_t vcpu, const Regs& regs, uint64_t rip, uint64_t count, uint32_t* open);
  Step yield_window(uint32_t vcpu, uint64_t count, uint64_t* next_target);
  Step dma(uint32_t vcpu, uint64_t sync_count, DmaTiming at, const RamWrite& write);
  Step guest_records(const uint8_t* records, size_t size);
  // The vCPU whose event is next in the log, -1 at its end.
  int turn();

  // Where replay is, for passes (kvmrr/replay-cursor.h).
  struct Cursor {
    uint64_t events = 0;     // consumed
    uint64_t entries = 0;    // this vCPU's kernel entries from user mode
    uint64_t entry_pid = 0;  // the thread of its last one
  };
  Cursor cursor(uint32_t vcpu) const;

  // The recorded CPU's answer to CPUID (leaf, subleaf), which replay gives whatever the
  // accelerator that recorded: true with out = eax, ebx, ecx, edx when the recorded table
  // covers the leaf (a subleaf it lacks reads as zero); false outside it, or when the
  // recording has no table.
  bool cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) const;

  // Writes replay.json, prints a divergence report to stderr; QEMU's exit status. read (may
  // be empty) reads the diverging vCPU's memory: the report shows its kernel stack.
  int finish(const GuestRead& read = {});

  const ReplaySession& session() const { return session_; }

 private:
  // True (and replay over) when the log has no next event.
  bool ended();
  // Continue when the log's next event is vcpu's, Wait when another's, Stop at the end.
  Step my_turn(uint32_t vcpu);
  // Device writes made while no vCPU ran kernel code (DmaTiming::Between) at the log's head:
  // done now, by whichever vCPU asks, with the RAM writer the last dma() call passed.
  bool apply_between();
  bool write_logged(const Event& e, const RamWrite& write, uint32_t vcpu);
  Step stop_if_diverged();
  // Memory digests the recorder took right after the event just consumed (replay is where
  // the recorder was): each checked against replay's memory.
  Step check_digests(uint32_t vcpu);
  bool verify_digest(const Event& d, uint32_t vcpu);

  Step device_read(EventType type, uint32_t vcpu, const Regs& regs, uint64_t where, uint32_t size, uint64_t* value);
  Step fed(const Event& e);  // a guest-side event was fed: its ring record must follow
  void progress();
  void load_cpuid_table(const RecordingMeta& m);

  Recording recording_;
  Vmlinux vmlinux_;
  ReplaySession session_;
  ReplayHooks hooks_;
  struct Window {
    uint64_t count, rip, pending;
  };
  std::vector<std::vector<Window>> yield_windows_;  // per vCPU, in order
  std::vector<size_t> next_window_;
  std::map<std::pair<uint32_t, uint32_t>, std::array<uint32_t, 4>> cpuid_;  // (leaf, subleaf)
  uint32_t cpuid_max_basic_ = 0, cpuid_max_ext_ = 0;
  std::vector<bool> entry_performed_;  // per vCPU: an entry replay performed awaits its log
  // Per vCPU: chunks of a user read whose bytes replay wrote ahead, their events not yet
  // consumed (the recorder flushed the ring inside the read; see Replayer::user_read).
  std::vector<uint32_t> chunks_ahead_;
  bool put_chunk(const Event& e, uint32_t vcpu, const Regs& at, uint64_t n, uint32_t kind, uint64_t copy,
                 const GuestWrite& write, bool* done);
  Step write_chunks_ahead(uint32_t vcpu, const Regs& at, uint64_t uaddr, uint64_t len, uint32_t kind, uint64_t copy,
                          EventType type, const GuestWrite& write);
  std::deque<Event> fed_;  // guest-side events fed since the last ring drain
  // Memory digests: the recording's table as of the last one, replay's memory.
  GuestMemory memory_;
  std::string memory_error_;
  std::unique_ptr<KernelMemory> kernel_memory_;
  DigestTable recorded_digests_;
  std::unique_ptr<MemoryStateLog> state_log_;
  uint64_t digests_checked_ = 0, digests_unchecked_ = 0;
  uint64_t last_digest_at_ = 0;  // events consumed when the last digest matched

  // Returns to user mode (DIR/returns): per vCPU the registers of its last return not yet
  // matched to an entry; per task its last entry from user mode, which that return ends
  // (the task that returned on a vCPU is the one whose entry comes next there).
  void note_entry(uint32_t vcpu, const Event& e);
  struct PendingReturn {
    bool valid = false;
    uint64_t rax = 0, rip = 0;
  };
  std::vector<PendingReturn> pending_return_;
  std::vector<Cursor> vcpu_entries_;  // per vCPU: entries and the last one's pid
  std::map<uint64_t, uint64_t> last_entry_of_task_;
  UserReturns returns_;
  uint64_t total_events_ = 0;
  uint64_t kernel_entries_ = 0;
  bool log_ended_ = false;
  RamWrite ram_write_;  // QEMU's RAM writer, from the first dma() (the snapshot's writes)
  std::chrono::steady_clock::time_point started_, last_progress_;
};

}  // namespace kvmrr
