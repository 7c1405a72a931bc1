#include "kvmrr/memory_state_log.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "kvmrr/error.h"

namespace kvmrr {

uint64_t hash_whole_page(const uint8_t* page) {
  uint64_t lane[4] = {0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull, 0x2545f4914f6cdd1dull};
  for (size_t i = 0; i < kPageBytes; i += 32) {
    for (int l = 0; l < 4; l++) {
      uint64_t v;
      memcpy(&v, page + i + 8 * l, 8);
      lane[l] = (lane[l] ^ v) * 0xff51afd7ed558ccdull;
      lane[l] ^= lane[l] >> 29;
    }
  }
  uint64_t h = 0;
  for (uint64_t l : lane) h = (h ^ l) * 0xc4ceb9fe1a85ec53ull, h ^= h >> 32;
  return h;
}

MemoryStateLog::MemoryStateLog(const std::filesystem::path& file) : path_(file) {
  file_ = fopen(file.c_str(), "w");
  if (!file_) throw RecordingError(RecordingError::Kind::Io, file, std::string("cannot create: ") + strerror(errno));
  // The kinds' names, so that readers (tools/mutation-campaign) need not know the numbers.
  std::string kinds;
  for (int k = 1; k <= static_cast<int>(PageKind::Last); k++) {
    kinds += fmt::format("kind {:x} covered {}\n", k, to_string(static_cast<PageKind>(k)));
  }
  for (int w = 1; w <= static_cast<int>(Uncovered::Last); w++) {
    auto why = static_cast<Uncovered>(w);
    const char* cls = why == Uncovered::Ring ? "ring" : user_owned(why) ? "user" : "other";
    kinds += fmt::format("kind {:x} {} {}\n", 0x10 + w, cls, to_string(why));
  }
  if (fwrite(kinds.data(), 1, kinds.size(), file_) != kinds.size()) {
    throw RecordingError(RecordingError::Kind::Io, path_, std::string("cannot write: ") + strerror(errno));
  }
}

MemoryStateLog::~MemoryStateLog() {
  if (file_) fclose(file_);
}

void MemoryStateLog::write(uint64_t seq, uint64_t events, const GuestMemory& mem,
                           const std::vector<PageDigest>& covered, const std::vector<Uncovered>& why) {
  const size_t pages = mem.bytes / kPageBytes;
  bool first = hashes_.empty();
  if (first) hashes_.assign(pages, 0), kinds_.assign(pages, 0xff);
  std::vector<uint8_t> kinds(pages, 0);
  for (size_t pfn = 0; pfn < pages && pfn < why.size(); pfn++) kinds[pfn] = 0x10 + uint8_t(why[pfn]);
  for (const PageDigest& d : covered) {
    if (d.pfn < pages) kinds[d.pfn] = uint8_t(d.kind);
  }
  std::string lines;
  size_t changed = 0;
  for (size_t pfn = 0; pfn < pages; pfn++) {
    uint64_t h = hash_whole_page(mem.ram + pfn * kPageBytes);
    if (!first && h == hashes_[pfn] && kinds[pfn] == kinds_[pfn]) continue;
    hashes_[pfn] = h;
    kinds_[pfn] = kinds[pfn];
    char buf[64];
    lines.append(buf, snprintf(buf, sizeof buf, "%zx %x %016llx\n", pfn, kinds[pfn], (unsigned long long)h));
    changed++;
  }
  if (fprintf(file_, "point %llu events %llu changed %zu\n", (unsigned long long)seq, (unsigned long long)events,
              changed) < 0 ||
      fwrite(lines.data(), 1, lines.size(), file_) != lines.size() || fflush(file_) != 0) {
    throw RecordingError(RecordingError::Kind::Io, path_, std::string("cannot write: ") + strerror(errno));
  }
}

}  // namespace kvmrr
