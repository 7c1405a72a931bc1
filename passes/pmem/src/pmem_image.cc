#include "kvmrr/pmem_image.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "kvmrr/error.h"

namespace kvmrr::pmem {

void write_sparse(int fd, const std::filesystem::path& path, uint64_t offset, const uint8_t* data, size_t len) {
  static const uint8_t zero[4096] = {};
  for (size_t off = 0; off < len; off += sizeof zero) {
    size_t n = std::min(sizeof zero, len - off);
    if (memcmp(data + off, zero, n) == 0) continue;
    if (pwrite(fd, data + off, n, off_t(offset + off)) != ssize_t(n)) {
      throw RecordingError(RecordingError::Kind::Io, path, strerror(errno));
    }
  }
}

std::vector<uint8_t> read_image(const std::filesystem::path& path, uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(RecordingError::Kind::Io, path, strerror(errno));
  std::vector<uint8_t> img(size);
  in.read(reinterpret_cast<char*>(img.data()), std::streamsize(size));
  if (uint64_t(in.gcount()) != size) {
    throw RecordingError(RecordingError::Kind::Truncated, path,
                         fmt::format("{} bytes, the pmem range has {}", in.gcount(), size));
  }
  return img;
}

}  // namespace kvmrr::pmem
