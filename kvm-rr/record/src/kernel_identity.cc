#include "kvmrr/kernel_identity.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace kvmrr {

namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kKernelLoad = 16 * kMiB;  // x86 LOAD_PHYSICAL_ADDR
constexpr uint64_t kScanLimit = 512 * kMiB;  // a kernel image lies well below this
constexpr size_t kChunk = kMiB;
constexpr size_t kMaxBanner = 512;
constexpr uint64_t kBannerWindow = 64 * kMiB;  // the image's read-only data and the log buffer

// An ELF note header: namesz 4, descsz (the id's length), type NT_GNU_BUILD_ID (3), "GNU".
constexpr uint32_t kNtGnuBuildId = 3;

bool is_build_id_note(const uint8_t* p, uint32_t* descsz) {
  uint32_t namesz, desc, type;
  memcpy(&namesz, p, 4);
  memcpy(&desc, p + 4, 4);
  memcpy(&type, p + 8, 4);
  if (namesz != 4 || type != kNtGnuBuildId || desc < 8 || desc > 64) return false;
  if (memcmp(p + 12, "GNU", 4) != 0) return false;
  *descsz = desc;
  return true;
}

// The kernel image carries other ELF images whole (the vDSO, with a build-id note of its own,
// before the kernel's .notes): a note in the first pages after an ELF header is theirs.
bool inside_embedded_elf(const PhysRead& read, uint64_t note_gpa) {
  constexpr uint64_t kPage = 4096;
  uint64_t page = note_gpa & ~(kPage - 1);
  for (int back = 0; back < 4 && page >= back * kPage; back++) {
    uint8_t magic[4];
    if (read(page - back * kPage, magic, sizeof magic) && memcmp(magic,
                                                                 "\x7f"
                                                                 "ELF",
                                                                 4) == 0)
      return true;
  }
  return false;
}

// Calls match(chunk_bytes, offset_in_chunk, chunk_length, chunk_gpa) for each position of [from, to), in chunks that
// overlap by `tail` bytes so that a pattern across a chunk boundary is seen whole. Stops at
// the first match returning true, or at memory that is not RAM.
template <typename Match>
bool scan(const PhysRead& read, uint64_t from, uint64_t to, size_t tail, Match match) {
  std::vector<uint8_t> buf(kChunk + tail);
  for (uint64_t at = from; at < to; at += kChunk) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk + tail, to - at));
    if (len <= tail || !read(at, buf.data(), len)) return false;
    for (size_t i = 0; i + tail <= len; i++) {
      if (match(buf.data(), i, len, at)) return true;
    }
  }
  return false;
}

std::optional<KernelIdentity> find_from(const PhysRead& read, uint64_t from, uint64_t to) {
  KernelIdentity id;
  bool found = scan(read, from, to, 16 + 64, [&](const uint8_t* b, size_t i, size_t, uint64_t at) {
    uint32_t descsz;
    if (b[i] != 4 || !is_build_id_note(b + i, &descsz)) return false;
    if (inside_embedded_elf(read, at + i)) return false;
    for (uint32_t k = 0; k < descsz; k++) id.build_id += fmt::format("{:02x}", b[i + 16 + k]);
    return true;
  });
  if (!found) return std::nullopt;
  static const char kPrefix[] = "Linux version ";
  // Linux 6.1 links two banners: init/version.c's (no build number or time, for the build
  // salt) and version-timestamp.c's, the one the kernel prints. The longest of the first few.
  int seen = 0;
  scan(read, from, std::min(to, from + kBannerWindow), kMaxBanner,
       [&](const uint8_t* b, size_t i, size_t len, uint64_t) {
         if (b[i] != 'L' || memcmp(b + i, kPrefix, sizeof kPrefix - 1) != 0) return false;
         const char* s = reinterpret_cast<const char*>(b + i);
         std::string banner(s, strnlen(s, std::min(kMaxBanner, len - i)));
         while (!banner.empty() && banner.back() == '\n') banner.pop_back();
         if (banner.size() > id.banner.size()) id.banner = banner;
         return ++seen == 4;
       });
  return id;
}

}  // namespace

std::optional<KernelIdentity> find_kernel_identity(const PhysRead& read, uint64_t ram_bytes) {
  uint64_t end = std::min(ram_bytes, kScanLimit);
  if (auto id = find_from(read, kKernelLoad, end)) return id;
  return find_from(read, kMiB, std::min(end, kKernelLoad));
}

}  // namespace kvmrr
