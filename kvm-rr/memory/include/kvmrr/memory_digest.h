#pragma once
// Memory digests: what replay checks beyond registers. Inputs that only flow into kernel
// memory (file data in a pipe buffer, a timestamp in an inode, a timer's expiry) change no
// register at any event; a digest of the pages the kernel owns, taken by the recorder and by
// replay at points both reach alike, catches them where they land. docs/memory-digests.md
// says which pages count and why.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvmrr/vmlinux.h"

namespace kvmrr {

// Guest RAM as both sides see it: QEMU's RAM block (RAM address = guest-physical address
// below 4 GiB) and a reader of guest-virtual memory through the kernel's page tables (the
// kernel's struct pages live in its vmemmap). The digests only read.
struct GuestMemory {
  const uint8_t* ram = nullptr;
  uint64_t bytes = 0;
  std::function<bool(uint64_t vaddr, void* buf, size_t len)> read_virtual;
  // The pages written since the previous call that answered true, one bit per page (least
  // significant first), when the accelerator can tell (QEMU's dirty log); false: it cannot,
  // count every page as written. Unset: never known.
  std::function<bool(std::vector<uint8_t>& bitmap)> written_since_last;

  // RAM whose kernel addresses are read through the kernel's own top-level page table
  // (init_top_pgt in the recorded vmlinux), walked in RAM: no vCPU's CR3 is needed, so any
  // thread may read while the vCPUs run. Throws RecordingError (Corrupt) without the symbol.
  static GuestMemory from_ram(const uint8_t* ram, uint64_t bytes, const Vmlinux& kernel);
};

// Guest-physical address of a kernel virtual address by a 4-level walk from the page table
// at pgd (physical) in ram; nullopt where it is not mapped.
std::optional<uint64_t> walk_page_tables(const uint8_t* ram, uint64_t bytes, uint64_t pgd, uint64_t vaddr);

// What a covered page holds, by the kernel's struct page for it (the numbers are in
// recordings). None in a digest's delta: the page left the covered set.
enum class PageKind : uint8_t {
  None = 0,
  Slab = 1,
  PageTable = 2,
  KernelData = 3,
  PageCache = 4,
  Kernel = 5,
  PerCpu = 6,  // a CPU's copy of the kernel's per-CPU variables (rules 4)
  Pmem = 7,    // persistent memory (the e820 table's pmem ranges), while user code cannot write it (rules 4)
  // The top page of a task's kernel stack, only its struct pt_regs (the user registers it
  // entered the kernel with), of a task no CPU runs now (rules 4).
  UserRegs = 8,
  Last = UserRegs,
};
std::string_view to_string(PageKind kind);

// Why a page is not covered (docs/memory-digests.md's table), for the mutation campaign's
// state logs (the numbers are in them).
enum class Uncovered : uint8_t {
  Covered = 0,
  Ring = 1,               // the guest's event ring: QEMU writes it too
  Free = 2,               // a free (buddy) block
  KernelStack = 3,        // a task's kernel stack, init_stack, a CPU's IRQ, exception or entry stack
  Reserved = 4,           // memblock-reserved outside the image data and per-CPU areas (firmware)
  Unreadable = 5,         // no struct page to read
  UserMapped = 6,         // mapped into user space now
  OtherType = 7,          // another page type
  Anonymous = 8,          // anonymous (user data) or movable
  InFlight = 9,           // page cache under a device read (locked, not up to date)
  UserWritable = 10,      // page cache of a file user code may have written through a mapping
  PageCacheOff = 11,      // page cache, under a kernel that does not mark such files
  Leaving = 12,           // no mapping but on an LRU list or swap-backed: on its way out
  PmemUserWritable = 13,  // persistent memory, once user code may write it (a shared writable mapping)
  Last = PmemUserWritable,
};
std::string_view to_string(Uncovered why);
// Pages user code owns (it writes them; replay runs none): what it does there is no input
// the kernel missed until a logged read brings it in.
bool user_owned(Uncovered why);

// Which pages a digest covers and how it hashes them (KernelMemory): a recording says the
// rules it was digested by (meta.json), and replay checks only digests of its own rules.
// Bump on any change to what is covered or how.
// 3: saved FPU areas found by any valid MXCSR and mask, 64-byte aligned; page cache covered
// when the kernel marks shared anonymous mappings too (kvmrr_memory_layout version 2).
// 4: per-CPU areas (PageKind::PerCpu) but their stacks and the words a CPU writes on its way
// into the kernel before it holds the kernel token; persistent memory until user code may
// write it (kvmrr_memory_layout version 3); the user registers at the top of the kernel
// stacks of tasks no CPU runs (any task with one CPU); init memory freed after boot, as any
// page.
// 5: init memory freed after boot classified as any page (rules 4 and before left it out);
// with one CPU, the stack it runs on and the words it writes entering the kernel count too.
inline constexpr uint32_t kDigestRules = 5;

inline constexpr size_t kPageBytes = 4096;
inline constexpr size_t kDigestLines = kPageBytes / 64;

struct PageDigest {
  uint32_t pfn = 0;
  PageKind kind = PageKind::None;
  uint64_t hash = 0;                          // of the whole page (saved user FPU state left out)
  std::array<uint8_t, kDigestLines> lines{};  // one byte per 64-byte line, each line on its own
  bool operator==(const PageDigest&) const = default;
};

// When a digest was taken (the numbers are in recordings).
enum class DigestPoint : uint8_t { End = 0, Checkpoint = 1, Periodic = 2 };
std::string_view to_string(DigestPoint point);

// When a recording takes memory digests (`--checksum`): never; at the end of the recording;
// also at the first point after each guest checkpoint; also every N events.
struct DigestPolicy {
  enum class Mode { Off, End, Checkpoints, Every };
  Mode mode = Mode::Off;
  uint64_t every = 0;
  // "off", "end", "checkpoints" or a number of events (at least 1); throws
  // std::invalid_argument naming the value otherwise.
  static DigestPolicy parse(const std::string& text);
  std::string to_string() const;  // as meta.json says it
};

// The pages a digest covers in a Linux 6.1 x86-64 guest (4-level paging, no KASLR), each as
// its struct page says now: the kernel image's data and bss, slab pages, page tables, page
// cache up to date and not mapped into user space (nor of a file once mapped shared and
// writable), the kernel's own allocations and every CPU's per-CPU variables; kernel stacks
// (tasks' and each CPU's IRQ, exception and entry stacks), the guest's event ring and saved
// user FPU registers inside a page are left out (docs/memory-digests.md says why).
class KernelMemory {
 public:
  // Reads the image's bounds from the recorded kernel. Throws RecordingError (Corrupt) when
  // the vmlinux lacks them.
  KernelMemory(const Vmlinux& kernel, uint64_t ring_gpa);

  // Every covered page's digest now, by pfn. Throws RecordingError (Corrupt) when the
  // kernel's struct pages cannot be read (no vmemmap where a 6.1 kernel has it).
  // Every page is classified; with only_written, a page mem says was not written since the
  // last digest keeps that digest's hash (its bytes are what they were) and only written
  // pages are hashed, and the next digest's "written" starts from this one.
  // why (optional): per pfn, why the page is not covered (Covered for the covered ones).
  std::vector<PageDigest> digest(const GuestMemory& mem, bool only_written = false,
                                 std::vector<Uncovered>* why = nullptr);
  // Pages the last digest hashed (the rest it took from the one before).
  uint64_t last_hashed() const { return last_hashed_; }

  // One line for a report: what the page holds and, in the kernel image, the symbols of its
  // lines (line < 0: the page's first).
  std::string describe(uint32_t pfn, PageKind kind, int line = -1) const;

  uint32_t struct_page_size() const { return struct_page_size_; }

 private:
  void find_struct_page_size(const GuestMemory& mem);
  void find_per_cpu_areas(const GuestMemory& mem);
  void mask_per_cpu(uint64_t pa, bool* masked) const;
  void find_pmem(const GuestMemory& mem);
  // Whether pa is persistent memory; why is set when it is but is not covered.
  bool in_pmem(uint64_t pa) const;
  PageKind classify(uint32_t pfn, const uint8_t* page_struct, const GuestMemory& mem, uint64_t ring_lo,
                    uint64_t ring_hi, uint64_t* free_until, Uncovered* why) const;

  const Vmlinux& kernel_;
  uint64_t ring_gpa_;
  uint64_t image_lo_ = 0, image_hi_ = 0;  // physical [_sdata, _end)
  uint64_t text_lo_ = 0, text_hi_ = 0;    // physical [_text, _etext): reserved, for the size check
  uint64_t stack_lo_ = 0, stack_hi_ = 0;  // physical init_stack
  uint32_t struct_page_size_ = 0;
  bool checked_ = false;
  std::vector<PageDigest> last_;  // the last digest, by pfn

  // Per-CPU areas: the percpu allocator's first chunk, one unit per CPU in the direct map;
  // a CPU's copy of a per-CPU variable is at __per_cpu_offset[cpu] + the symbol's value.
  // Where the kernel keeps the numbers (physical, in the image), found in the vmlinux.
  struct PerCpuSymbols {
    uint64_t offsets = 0, slots = 0, nr_cpu_ids = 0, unit_size = 0;
  };
  std::optional<PerCpuSymbols> per_cpu_symbols_;
  struct Range {
    uint64_t lo = 0, hi = 0;
  };
  std::vector<Range> per_cpu_stacks_;  // offsets in a unit: whole pages left out
  std::vector<Range> per_cpu_masked_;  // offsets in a unit: words left out
  struct PerCpuArea {
    uint32_t cpu = 0;
    uint64_t lo = 0, hi = 0;  // physical
  };
  std::vector<PerCpuArea> per_cpu_;         // as the last digest found them
  std::optional<uint64_t> current_top_at_;  // cpu_current_top_of_stack's offset in a unit
  std::vector<uint64_t> running_stacks_;    // physical tops of the stacks CPUs run on now
  bool one_cpu_ = false;                    // nr_cpu_ids is 1: no other CPU races a digest
  const PerCpuArea* per_cpu_area(uint64_t pa) const;

  // Persistent memory: the e820 table's pmem ranges (the kernel's copy, e820_table), covered
  // until the kernel says user code may write it (kvmrr_pmem_user_writable, memory layout
  // version 3); kernels without it leave it out.
  std::optional<uint64_t> e820_table_at_, pmem_user_writable_at_;  // physical, in the image
  std::vector<Range> pmem_;                                        // physical, as the last digest found them
  bool pmem_user_writable_ = false;
  uint64_t last_hashed_ = 0;
  // From the kernel's kvmrr_memory_layout (guest-abi.h), when it has one: where a mapping's
  // flags are and the bit that says user code may have written its page cache.
  std::optional<uint32_t> mapping_flags_at_;
  uint32_t user_writable_bit_ = 0;
  bool user_writable(const GuestMemory& mem, uint64_t mapping) const;

 public:
  // Page cache is covered when the kernel marks every shared writable mapping (memory layout
  // version 2); tests set it either way.
  void cover_page_cache(bool on) { page_cache_covered_ = on; }

 private:
  bool page_cache_covered_ = false;
};

// The digest of one page's bytes (no FPU masking): exposed for the tests.
PageDigest digest_page(uint32_t pfn, PageKind kind, const uint8_t* bytes);

// The per-page digests a recording holds: its first digest in full, each later one as the
// pages that changed since the one before. Both sides keep one: the recorder to write
// deltas, replay to know the recording's whole table at each point.
class DigestTable {
 public:
  // The pages of `now` that differ from the table (or left it, as PageKind::None), and the
  // table becomes `now`.
  std::vector<PageDigest> advance(const std::vector<PageDigest>& now);
  // Applies a delta advance() made.
  void apply(std::span<const PageDigest> delta);
  const std::map<uint32_t, PageDigest>& pages() const { return pages_; }
  // One number for the whole table: equal tables, equal numbers.
  uint64_t combined() const;

 private:
  std::map<uint32_t, PageDigest> pages_;
};

// Pages where replay's memory is not what the recording's table says.
struct PageMismatch {
  uint32_t pfn = 0;
  PageKind recorded = PageKind::None;  // None: the recording did not cover it
  PageKind replayed = PageKind::None;  // None: replay does not cover it
  int first_line = -1;                 // the first 64-byte line whose digest differs, -1 if none does
  std::vector<int> lines;              // every 64-byte line whose digest differs, in order
};
std::vector<PageMismatch> compare(const DigestTable& recorded, const std::vector<PageDigest>& replayed);

// A delta as a digest event's data: per page, pfn u32, kind u8, 3 zero bytes, hash u64 and
// the line bytes (all little-endian). decode throws RecordingError (Corrupt) on a malformed one.
std::vector<uint8_t> encode_digests(std::span<const PageDigest> pages);
std::vector<PageDigest> decode_digests(std::span<const uint8_t> data);

}  // namespace kvmrr
