#pragma once
// pmem images on the host: the pass's pmem-initial.img, the checker's batch disks and kept
// failing states. Mostly zero (a small file system on a 16 MiB region), so they are
// written sparse.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace kvmrr::pmem {

// Writes len bytes at offset into the open file fd, leaving all-zero 4 KiB blocks as holes;
// the file's size is the caller's (ftruncate). Throws RecordingError (Io) naming path.
void write_sparse(int fd, const std::filesystem::path& path, uint64_t offset, const uint8_t* data, size_t len);

// Reads an image of exactly size bytes. Throws RecordingError (Io, Truncated).
std::vector<uint8_t> read_image(const std::filesystem::path& path, uint64_t size);

}  // namespace kvmrr::pmem
