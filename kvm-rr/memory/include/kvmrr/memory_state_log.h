#pragma once
// A replay's whole RAM, page by page, at each memory digest it checks: what two replays of
// one recording must have alike, user pages and free pages included. The mutation campaign
// compares the replay of a changed recording with the unchanged one's to tell a change that
// reached memory no digest covers from one that reached nothing at all
// (docs/memory-digests.md, "What the campaign calls dead").
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "kvmrr/memory_digest.h"

namespace kvmrr {

// The file, text: first what each kind number means,
//   kind KIND CLASS NAME   (CLASS: covered, user (pages user code owns), ring, other)
// then one block per point:
//   point SEQ events N changed K
//   PFN KIND HASH          (K lines, hex: the pages whose hash or kind changed since the
//                           point before; every page at the first)
// KIND is the digest's page kind (PageKind) for a covered page, 0x10 + Uncovered
// (why not) for another. Two replays that did the same thing write the same file.
class MemoryStateLog {
 public:
  // Creates (truncates) the file. Throws RecordingError (Io) naming it.
  explicit MemoryStateLog(const std::filesystem::path& file);
  ~MemoryStateLog();
  MemoryStateLog(const MemoryStateLog&) = delete;
  MemoryStateLog& operator=(const MemoryStateLog&) = delete;

  // RAM now, after `events` events, at digest #seq; covered: that digest's pages (by pfn);
  // why: per pfn, why a page is not covered (empty: not known).
  void write(uint64_t seq, uint64_t events, const GuestMemory& mem, const std::vector<PageDigest>& covered,
             const std::vector<Uncovered>& why = {});

 private:
  std::filesystem::path path_;
  FILE* file_ = nullptr;
  std::vector<uint64_t> hashes_;  // per pfn, at the last point
  std::vector<uint8_t> kinds_;
};

// A page's bytes as one number, fast (four independent lanes): not the digests' hash.
uint64_t hash_whole_page(const uint8_t* page);

}  // namespace kvmrr
