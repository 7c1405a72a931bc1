#include "kvmrr/user_returns.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "kvmrr/error.h"
#include "kvmrr/recording.h"

namespace kvmrr {
namespace {

// "KVMRRRET", a version, the events the replay went through, the count, then the records:
// little-endian u64s, as everything else kvm-rr writes on x86_64.
constexpr char kMagic[8] = {'K', 'V', 'M', 'R', 'R', 'R', 'E', 'T'};
constexpr uint64_t kVersion = 1;
constexpr size_t kHeader = 8 + 3 * 8;
constexpr size_t kRecord = 3 * 8;

void put(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
uint64_t get(const std::string& in, size_t at) {
  uint64_t v;
  memcpy(&v, in.data() + at, 8);
  return v;
}

}  // namespace

void UserReturns::write(const std::filesystem::path& dir) const {
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, events_replayed);
  put(out, returns.size());
  for (const UserReturn& r : returns) {
    put(out, r.entry_index);
    put(out, r.rax);
    put(out, r.rip);
  }
  write_file_atomically(dir / kFile, out);
}

std::optional<UserReturns> UserReturns::read(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(RecordingError::Kind::Io, path, "cannot open");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < kHeader)
    throw RecordingError(RecordingError::Kind::Truncated, path, "shorter than its header", data.size());
  if (memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    throw RecordingError(RecordingError::Kind::Corrupt, path, "not a returns file (bad magic)", 0);
  }
  if (uint64_t v = get(data, 8); v != kVersion) {
    throw RecordingError(RecordingError::Kind::Version, path,
                         fmt::format("returns file version {}, this kvm-rr reads {}", v, kVersion), 8);
  }
  UserReturns r;
  r.events_replayed = get(data, 16);
  uint64_t count = get(data, 24);
  if (count > (data.size() - kHeader) / kRecord || data.size() != kHeader + count * kRecord) {
    throw RecordingError(RecordingError::Kind::Truncated, path,
                         fmt::format("says {} returns, holds {} bytes of them", count, data.size() - kHeader), 24);
  }
  r.returns.resize(count);
  for (uint64_t i = 0; i < count; i++) {
    size_t at = kHeader + i * kRecord;
    r.returns[i] = UserReturn{get(data, at), get(data, at + 8), get(data, at + 16)};
  }
  return r;
}

}  // namespace kvmrr
