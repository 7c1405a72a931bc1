#pragma once
// The identity of the kernel a guest runs, read from its memory: what a recording started
// from QEMU's monitor (no front end, so no vmlinux named) needs for replay to find the right
// vmlinux. The kernel image sits in guest RAM as it was linked: its GNU build-id note and
// its linux_banner string are there, byte for byte.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace kvmrr {

struct KernelIdentity {
  std::string build_id;  // lower-case hex, as Vmlinux::build_id() gives it
  std::string banner;    // "Linux version ...", without the trailing newline; may be empty
};

// Reads len bytes of guest-physical memory at gpa; false where there is no RAM.
using PhysRead = std::function<bool(uint64_t gpa, void* buf, size_t len)>;

// Searches guest RAM for the kernel's build-id note and banner: first from the kernel's
// default load address (16 MiB, where x86's boot protocol puts a non-relocated kernel, text
// first, then notes and read-only data: nothing else can sit between), then from 1 MiB. The
// first note found there is the kernel's; a user binary's note in the page cache lies above
// the kernel image. nullopt when no build-id note is found.
std::optional<KernelIdentity> find_kernel_identity(const PhysRead& read, uint64_t ram_bytes);

}  // namespace kvmrr
