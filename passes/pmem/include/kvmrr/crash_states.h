#pragma once
// From a pmem log to the crash states worth checking.
//
// Persistence model (x86 with ADR: a line is persistent once it left the cache):
//  - a cached store makes its line dirty; it may reach pmem at any time (eviction), or never;
//  - CLFLUSH, CLFLUSHOPT and CLWB mark a line flushed, a non-temporal store writes its line
//    flushed; a flushed line is persistent after the next fence (SFENCE, MFENCE, a locked
//    or serializing instruction); WBINVD flushes every line;
//  - a store after the flush makes the line dirty again.
// A line is in flight from its first store until a fence persists it. At every fence the
// machine could crash with the persisted image plus any subset of the in-flight lines (each
// with its newest content), taken in the device's atomic units (PlanOptions::atomic): those
// are the crash states. Lines whose content equals what is
// already persisted change nothing and are left out.
//
// Bounds: every subset of up to k lines, plus `samples` random larger subsets per fence
// (the whole in-flight set among them); an image is kept once per syscall interval
// (XOR-combined line hashes); beyond max_states a seeded random sample is kept. States start at the guest's
// first checkpoint (if it made any), so set-up such as mkfs is not checked.
//
// Oracle anchors: syscall entries are the boundaries. A crash state at a fence between two
// boundaries must look like the volatile image (everything stored, as if all persisted) at
// one of them: the state before or after the syscall in flight.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kvmrr/pmem_log.h"

namespace kvmrr::pmem {

struct PlanOptions {
  // Aligned bytes the device persists whole (a power of two, 64..4096): 512, a sector, is
  // what a block file system such as ext4 assumes of its disk; pmem itself tears at 8 bytes,
  // so 64 (one line) checks a file system that claims to need no more.
  uint64_t atomic = 512;
  unsigned k = 1;           // all subsets of up to k in-flight atomic units
  unsigned samples = 2;     // random larger subsets per fence
  size_t max_states = 400;  // sampled down beyond this
  uint64_t seed = 1;
  std::optional<uint64_t> from_checkpoint;  // default: the first checkpoint in the log
};

// A point the oracle compares against: a syscall entry (or the log's start and end).
struct Boundary {
  size_t record = 0;  // index in Log::records (start: 0, end: records.size())
  enum class Kind { Start, Syscall, Checkpoint, End } kind = Kind::Start;
  uint64_t number = 0;  // syscall number or checkpoint number
  uint64_t hash = 0;    // of the volatile image there
};

struct DroppedStore {
  size_t record;    // the store's index in Log::records
  size_t boundary;  // the last boundary before it (its syscall)
};

struct DroppedLine {
  uint64_t offset;                   // line offset in the range
  bool flushed;                      // flushed (or non-temporal) but not yet fenced
  std::vector<DroppedStore> stores;  // stores to it since it was last persisted
};

struct CrashState {
  size_t fence_record = 0;         // the fence it precedes
  size_t before = 0, after = 0;    // indices into Plan::boundaries
  std::vector<uint64_t> included;  // in-flight line offsets that reached pmem
  std::vector<uint64_t> dropped;   // in-flight line offsets that did not
  uint64_t hash = 0;
  size_t in_flight = 0;  // lines in flight at the fence
};

struct Plan {
  std::vector<Boundary> boundaries;
  std::vector<CrashState> states;
  uint64_t fences_with_lines = 0;  // fences where something was in flight
  uint64_t candidates = 0;         // crash states before dedup and sampling
  uint64_t distinct = 0;           // after dedup
  size_t first_record = 0;         // where states start (the checkpoint)
};

// The volatile/persisted images and the line states, stepped record by record.
class PmemModel {
 public:
  PmemModel(const FileHeader& h, std::vector<uint8_t> initial);
  void apply(const Record& r, size_t index, size_t boundary);
  const std::vector<uint8_t>& volatile_image() const { return volatile_; }
  const std::vector<uint8_t>& persisted_image() const { return persisted_; }
  uint64_t volatile_hash() const { return vhash_; }
  uint64_t persisted_hash() const { return phash_; }
  // In-flight lines whose content differs from the persisted one, by offset.
  std::vector<uint64_t> changed_in_flight() const;
  DroppedLine describe(uint64_t offset) const;
  uint64_t line_hash(uint64_t offset, const std::vector<uint8_t>& image) const;

 private:
  struct Line {
    bool flushed = false;
    std::vector<DroppedStore> stores;
  };
  void fence();
  FileHeader header_;
  std::vector<uint8_t> volatile_, persisted_;
  uint64_t vhash_ = 0, phash_ = 0;
  std::map<uint64_t, Line> in_flight_;
};

Plan plan_crash_states(const Log& log, const std::vector<uint8_t>& initial, const PlanOptions& options);

// Replays the log once more and hands out the images the plan needs, in log order:
// boundary images (volatile) for every boundary a state refers to, and each state's image.
struct ImageRequest {
  enum class Kind { Boundary, State } kind;
  size_t index;  // into Plan::boundaries or Plan::states
};
// The model is at the request's point (for PmemModel::describe of a state's dropped lines).
void materialize(const Log& log, const std::vector<uint8_t>& initial, const Plan& plan,
                 const std::function<void(const ImageRequest&, const std::vector<uint8_t>&, const PmemModel&)>& sink);

}  // namespace kvmrr::pmem
