#pragma once
// A mounted pmem image as the checker guest saw it (guest/kvm-rr-pmem-probe and
// guest/kvm-rr-fsdump), and the oracle that judges a crash state against the states
// before and after the syscall in flight.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvmrr::pmem {

struct FsEntry {
  char type = 'f';  // f d l o
  uint32_t mode = 0;
  uint64_t nlink = 0;
  uint64_t size = 0;
  uint64_t hash = 0;             // content (regular files), target (symlinks)
  std::vector<uint64_t> chunks;  // 64-byte chunk hashes of files up to 64 KiB
};

struct FsState {
  bool probed = false;  // the probe reported on this image at all
  bool mounted = false;
  std::string mount_error;
  int fsck_status = -1;
  std::string fsck_tail;
  std::string problem;  // copy or dump errors
  std::map<std::string, FsEntry> files;
};

// Parses the probe's output disk: one FsState per image, in order. Throws
// std::runtime_error when the text is not the probe's.
std::vector<FsState> parse_probe_output(const std::string& text, size_t count);

// Differences of `got` from `want`, one line each ("missing /A/foo", "content /A/bar", ...).
// With torn_from set, a regular file whose content differs between *torn_from and want is
// accepted when each 64-byte chunk is one of theirs: a write(2) in flight may persist in
// part; POSIX promises no atomicity there.
std::vector<std::string> fs_diff(const FsState& got, const FsState& want, const FsState* torn_from = nullptr);

struct Verdict {
  bool ok = false;
  std::string matched;            // "before" or "after" when ok
  std::string why;                // when not ok: the first reason
  std::vector<std::string> diff;  // against the closer of before/after
  std::string diff_against;
};

// Oracle: the crash state mounts, fsck finds nothing, and it equals the state before or
// after the syscall in flight (either of those failing to mount is reported as such).
Verdict judge(const FsState& crash, const FsState& before, const FsState& after);

}  // namespace kvmrr::pmem
