#include "kvmrr/memory_digest.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kvmrr/error.h"
#include "kvmrr/guest-abi.h"

namespace kvmrr {

namespace {

// The guest's memory map (x86-64, 4-level paging, no KASLR: CONFIG_RANDOMIZE_MEMORY=n).
constexpr uint64_t kVmemmap = 0xffffea0000000000ull;
constexpr uint64_t kKernelMap = 0xffffffff80000000ull;  // __START_KERNEL_map, phys_base 0
constexpr uint64_t kDirectMap = 0xffff888000000000ull;  // PAGE_OFFSET
// struct page in Linux 6.1: flags at 0, compound_head (tail pages, bit 0 set) at 8, mapping
// at 24, private (a free block's order) at 40, page_type / _mapcount at 48; its size depends
// on the configuration (found at run time).
constexpr size_t kFlagsAt = 0, kCompoundHeadAt = 8, kMappingAt = 24, kPrivateAt = 40, kPageTypeAt = 48;
constexpr uint64_t kPgLocked = 1ull << 0, kPgUptodate = 1ull << 2, kPgLru = 1ull << 4, kPgSlab = 1ull << 9,
                   kPgReserved = 1ull << 12, kPgSwapBacked = 1ull << 19;
constexpr uint32_t kPageTypeBase = 0xf0000000u, kPgBuddy = 0x80, kPgTable = 0x200;
constexpr uint64_t kThreadSize = 16384;
// sizeof(struct pt_regs) on x86-64: at the very top of a task's stack (no padding).
constexpr uint64_t kPtRegsBytes = 21 * 8;
// end_of_stack(): the lowest word of every task's kernel stack (set_task_stack_end_magic).
constexpr uint64_t kStackEndMagic = 0x57ac6e9d;
constexpr uint32_t kMaxRingBytes = 64u << 20;
// Past any per-CPU variable's offset and any unit's size.
constexpr uint64_t kMaxPerCpuOffset = 64u << 20;

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
uint32_t load32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0xff51afd7ed558ccdull;
  return h ^ (h >> 29);
}

bool has_type(uint32_t page_type, uint32_t flag) { return (page_type & (kPageTypeBase | flag)) == kPageTypeBase; }

// Saved user FPU registers (the XSAVE legacy area and header, 0x240 bytes), found by MXCSR
// followed by MXCSR_MASK. The mask is the saving CPU's (0xffff; 0xffbf without DAZ; bit 17
// added by AMD CPUs with misaligned SSE mode), MXCSR anything user code may load (rounding
// mode, flush-to-zero, exception masks: only bits the mask allows).
bool is_mxcsr_pair(uint64_t v) {
  uint32_t mask = static_cast<uint32_t>(v >> 32), mxcsr = static_cast<uint32_t>(v);
  return (mask & ~0x20040u) == 0xffbfu && (mxcsr & ~mask) == 0;
}

// The area is 64-byte aligned (struct fpstate's regs), so MXCSR sits 24 bytes into a line; the
// scan goes on past an area it found, since user code's XMM registers inside it may look like
// an MXCSR pair in the recording (not in replay) and would mask kernel data after the area.
void mask_fpu(const uint8_t* page, bool masked[kPageBytes / 8]) {
  constexpr size_t kAreaWords = 0x240 / 8;
  for (size_t i = 3; i < kPageBytes / 8;) {
    if (is_mxcsr_pair(load64(page + i * 8))) {
      for (size_t j = i - 3; j < i - 3 + kAreaWords && j < kPageBytes / 8; j++) masked[j] = true;
      i += kAreaWords;
    } else {
      i += 8;
    }
  }
}

PageDigest digest_words(uint32_t pfn, PageKind kind, const uint8_t* page, const bool* masked) {
  PageDigest d;
  d.pfn = pfn;
  d.kind = kind;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ pfn;
  for (size_t l = 0; l < kDigestLines; l++) {
    uint64_t lh = 0x6a09e667f3bcc909ull;
    for (size_t w = l * 8; w < l * 8 + 8; w++) lh = mix(lh, masked && masked[w] ? 0 : load64(page + w * 8));
    d.lines[l] = static_cast<uint8_t>(lh ^ (lh >> 8) ^ (lh >> 16) ^ (lh >> 24) ^ (lh >> 32) ^ (lh >> 40));
    h = mix(h, lh);
  }
  d.hash = h | 1;
  return d;
}

void put(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

constexpr size_t kEncodedPage = 4 + 1 + 3 + 8 + kDigestLines;

}  // namespace

std::optional<uint64_t> walk_page_tables(const uint8_t* ram, uint64_t bytes, uint64_t pgd, uint64_t vaddr) {
  constexpr uint64_t kAddr = 0x000ffffffffff000ull;
  uint64_t table = pgd & kAddr;
  for (int level = 3; level >= 0; level--) {
    uint64_t index = (vaddr >> (12 + 9 * level)) & 511;
    if (table + index * 8 + 8 > bytes) return std::nullopt;
    uint64_t entry = load64(ram + table + index * 8);
    if (!(entry & 1)) return std::nullopt;
    // A 1 GiB (level 2) or 2 MiB (level 1) page ends the walk.
    if ((level == 2 || level == 1) && (entry & 0x80)) {
      uint64_t span = 1ull << (12 + 9 * level);
      return (entry & kAddr & ~(span - 1)) | (vaddr & (span - 1));
    }
    table = entry & kAddr;
  }
  return table | (vaddr & 0xfff);
}

GuestMemory GuestMemory::from_ram(const uint8_t* ram, uint64_t bytes, const Vmlinux& kernel) {
  auto top = kernel.symbol("init_top_pgt");
  if (!top || *top < kKernelMap) {
    throw RecordingError(RecordingError::Kind::Corrupt, kernel.path(),
                         "no symbol init_top_pgt: cannot read the kernel's struct pages for memory digests");
  }
  uint64_t pgd = *top - kKernelMap;
  GuestMemory m;
  m.ram = ram;
  m.bytes = bytes;
  m.read_virtual = [ram, bytes, pgd](uint64_t vaddr, void* buf, size_t len) {
    auto* out = static_cast<uint8_t*>(buf);
    while (len) {
      size_t n = std::min<size_t>(len, kPageBytes - (vaddr & (kPageBytes - 1)));
      auto pa = walk_page_tables(ram, bytes, pgd, vaddr);
      if (!pa || *pa + n > bytes) return false;
      memcpy(out, ram + *pa, n);
      out += n;
      vaddr += n;
      len -= n;
    }
    return true;
  };
  return m;
}

DigestPolicy DigestPolicy::parse(const std::string& text) {
  DigestPolicy p;
  if (text == "off") return p;
  if (text == "end") p.mode = Mode::End;
  else if (text == "checkpoints") p.mode = Mode::Checkpoints;
  else {
    uint64_t n = 0;
    bool digits = !text.empty() && text.size() <= 18;
    for (char c : text) digits &= c >= '0' && c <= '9';
    if (digits) n = std::stoull(text);
    if (!n) {
      throw std::invalid_argument(
          fmt::format("--checksum {}: expected end, checkpoints, off or a number of events (1 or more)", text));
    }
    p.mode = Mode::Every;
    p.every = n;
  }
  return p;
}

std::string DigestPolicy::to_string() const {
  switch (mode) {
    case Mode::Off: return "off";
    case Mode::End: return "end";
    case Mode::Checkpoints: return "checkpoints";
    case Mode::Every: return fmt::format("every {} events", every);
  }
  return "off";
}

std::string_view to_string(PageKind kind) {
  switch (kind) {
    case PageKind::None: return "not covered";
    case PageKind::Slab: return "slab";
    case PageKind::PageTable: return "page table";
    case PageKind::KernelData: return "kernel data";
    case PageKind::PageCache: return "page cache";
    case PageKind::Kernel: return "kernel allocation";
    case PageKind::PerCpu: return "per-CPU data";
    case PageKind::Pmem: return "persistent memory";
    case PageKind::UserRegs: return "user registers on a kernel stack";
  }
  return "unknown";
}

std::string_view to_string(Uncovered why) {
  switch (why) {
    case Uncovered::Covered: return "covered";
    case Uncovered::Ring: return "the event ring";
    case Uncovered::Free: return "free";
    case Uncovered::KernelStack: return "kernel stack";
    case Uncovered::Reserved: return "reserved (firmware)";
    case Uncovered::Unreadable: return "no struct page";
    case Uncovered::UserMapped: return "mapped into user space";
    case Uncovered::OtherType: return "another page type";
    case Uncovered::Anonymous: return "anonymous";
    case Uncovered::InFlight: return "page cache under a device read";
    case Uncovered::UserWritable: return "page cache user code may write";
    case Uncovered::PageCacheOff: return "page cache (not covered by this kernel)";
    case Uncovered::Leaving: return "user or page-cache page on its way out";
    case Uncovered::PmemUserWritable: return "persistent memory user code may write";
  }
  return "unknown";
}

bool user_owned(Uncovered why) {
  return why == Uncovered::UserMapped || why == Uncovered::Anonymous || why == Uncovered::UserWritable ||
         why == Uncovered::Leaving || why == Uncovered::PmemUserWritable;
}

std::string_view to_string(DigestPoint point) {
  switch (point) {
    case DigestPoint::End: return "end";
    case DigestPoint::Checkpoint: return "checkpoint";
    case DigestPoint::Periodic: return "periodic";
  }
  return "unknown";
}

PageDigest digest_page(uint32_t pfn, PageKind kind, const uint8_t* bytes) {
  return digest_words(pfn, kind, bytes, nullptr);
}

KernelMemory::KernelMemory(const Vmlinux& kernel, uint64_t ring_gpa) : kernel_(kernel), ring_gpa_(ring_gpa) {
  auto need = [&](const char* name) {
    auto a = kernel.symbol(name);
    if (!a || *a < kKernelMap) {
      throw RecordingError(RecordingError::Kind::Corrupt, kernel.path(),
                           fmt::format("no symbol {}: cannot tell the kernel image's bounds for memory digests", name));
    }
    return *a - kKernelMap;
  };
  text_lo_ = need("_text");
  text_hi_ = need("_etext");
  image_lo_ = need("_sdata");
  image_hi_ = need("_end");
  stack_lo_ = need("init_stack");
  stack_hi_ = stack_lo_ + kThreadSize;
  // The kernel says how it is laid out (guest patch "the page cache of files mapped shared
  // and writable is marked"); older kernels get the fixed 6.1 layout.
  if (auto at = kernel.symbol("kvmrr_memory_layout")) {
    auto bytes = kernel.read(*at, sizeof(kvmrr_memory_layout));
    kvmrr_memory_layout layout{};
    if (bytes) memcpy(&layout, bytes->data(), sizeof layout);
    if (!bytes || layout.version < 1 || layout.version > KVMRR_MEMORY_LAYOUT_VERSION ||
        layout.struct_page_size < kPageTypeAt + 4 || layout.mapping_user_writable >= 64) {
      throw RecordingError(
          RecordingError::Kind::Corrupt, kernel.path(),
          fmt::format("kvmrr_memory_layout is not one this kvm-rr reads (version {})", layout.version));
    }
    struct_page_size_ = layout.struct_page_size;
    mapping_flags_at_ = layout.mapping_flags;
    user_writable_bit_ = layout.mapping_user_writable;
    // Version 1 kernels left shared anonymous mappings unmarked: their page cache may hold
    // what user code wrote.
    page_cache_covered_ = layout.version >= 2;
    // Version 3 kernels say when user code may write persistent memory.
    auto flag = kernel.symbol("kvmrr_pmem_user_writable"), e820 = kernel.symbol("e820_table");
    if (layout.version >= 3 && flag && e820 && *flag >= kKernelMap && *e820 >= kKernelMap) {
      pmem_user_writable_at_ = *flag - kKernelMap;
      e820_table_at_ = *e820 - kKernelMap;
    }
  }
  // Per-CPU areas (rules 4); an image without these symbols has none covered.
  auto offsets = kernel.symbol("__per_cpu_offset"), nr = kernel.symbol("nr_cpu_ids"),
       unit = kernel.symbol("pcpu_unit_size");
  uint64_t slots = kernel.symbol_size("__per_cpu_offset").value_or(0) / 8;
  if (offsets && nr && unit && slots && *offsets >= kKernelMap && *nr >= kKernelMap && *unit >= kKernelMap) {
    per_cpu_symbols_ = PerCpuSymbols{*offsets - kKernelMap, slots, *nr - kKernelMap, *unit - kKernelMap};
  }
  // A per-CPU symbol's value is its offset in every CPU's unit (__per_cpu_start is 0).
  auto per_cpu_range = [&](const char* name, uint64_t skip, uint64_t len) -> std::optional<Range> {
    auto at = kernel.symbol(name);
    uint64_t size = kernel.symbol_size(name).value_or(0);
    if (!at || *at >= kMaxPerCpuOffset) return std::nullopt;
    if (!len) len = size > skip ? size - skip : 0;
    if (!len) return std::nullopt;
    return Range{*at + skip, *at + skip + len};
  };
  // Each CPU's IRQ, exception (#DF, NMI, #DB, #MC) and entry stacks: what runs on them leaves
  // dead slots below the stack pointer that differ by design, as a task's stack does.
  for (const char* name : {"irq_stack_backing_store", "exception_stacks", "entry_stack_storage"}) {
    if (auto r = per_cpu_range(name, 0, 0)) per_cpu_stacks_.push_back(*r);
  }
  // What a CPU writes on its way into the kernel from user mode before it takes the kernel
  // token: while one vCPU takes a digest holding the token, another may have got that far
  // while recording, not in replay. The entry code's record of the vector and error code
  // (guest patch "log kernel entries from user mode"), and entry_SYSCALL_64's scratch slot
  // for the user stack pointer, the TSS's sp2 at 0x14 (its two words: the digest masks
  // 8-byte words).
  if (auto r = per_cpu_range("kvmrr_entry_info", 0, 0)) per_cpu_masked_.push_back(*r);
  if (auto r = per_cpu_range("cpu_tss_rw", 0x10, 0x10)) per_cpu_masked_.push_back(*r);
  if (auto r = per_cpu_range("cpu_current_top_of_stack", 0, 8)) current_top_at_ = r->lo;
}

void KernelMemory::find_per_cpu_areas(const GuestMemory& mem) {
  per_cpu_.clear();
  if (!per_cpu_symbols_) return;
  const PerCpuSymbols& s = *per_cpu_symbols_;
  if (s.nr_cpu_ids + 4 > mem.bytes || s.unit_size + 4 > mem.bytes || s.offsets + s.slots * 8 > mem.bytes) return;
  uint64_t nr = load32(mem.ram + s.nr_cpu_ids), unit = load32(mem.ram + s.unit_size);
  // Before setup_per_cpu_areas() there are none.
  if (!nr || nr > s.slots || !unit || unit % kPageBytes || unit > kMaxPerCpuOffset) return;
  for (uint32_t cpu = 0; cpu < nr; cpu++) {
    uint64_t va = load64(mem.ram + s.offsets + cpu * 8);
    // A unit outside the direct map (the page allocator's first chunk, in vmalloc space) is
    // made of ordinary kernel allocations, covered as such.
    if (va < kDirectMap || va % kPageBytes || va - kDirectMap + unit > mem.bytes) continue;
    per_cpu_.push_back({cpu, va - kDirectMap, va - kDirectMap + unit});
  }
  // The stacks the CPUs run on: while one vCPU takes a digest, another may be entering the
  // kernel on its task's stack before it holds the kernel token (recording), or not yet
  // (replay).
  running_stacks_.clear();
  // With one CPU nothing races the digest: the stack it runs on and the words it writes on
  // its way in are what replay has too.
  one_cpu_ = nr == 1;
  if (one_cpu_) return;
  for (const PerCpuArea& a : per_cpu_) {
    if (!current_top_at_ || a.lo + *current_top_at_ + 8 > mem.bytes) continue;
    uint64_t top = load64(mem.ram + a.lo + *current_top_at_);
    if (top >= kDirectMap) running_stacks_.push_back(top - kDirectMap);
  }
}

// The kernel's e820 table (struct e820_table: u32 nr_entries, then packed entries of u64
// address, u64 size, u32 type): its persistent-memory ranges, types 7 (PMEM) and 12 (PRAM,
// what memmap=SIZE!OFFSET makes), whole pages inside them.
void KernelMemory::find_pmem(const GuestMemory& mem) {
  pmem_.clear();
  if (!e820_table_at_ || !pmem_user_writable_at_ || *e820_table_at_ + 8 > mem.bytes ||
      *pmem_user_writable_at_ + 4 > mem.bytes) {
    return;
  }
  pmem_user_writable_ = load32(mem.ram + *pmem_user_writable_at_) != 0;
  constexpr uint32_t kMaxEntries = 1024, kEntryBytes = 20, kTypePmem = 7, kTypePram = 12;
  uint64_t table = load64(mem.ram + *e820_table_at_);
  uint8_t count[4];
  if (!mem.read_virtual(table, count, 4)) return;
  uint32_t n = std::min(load32(count), kMaxEntries);
  std::vector<uint8_t> entries(size_t(n) * kEntryBytes);
  if (!mem.read_virtual(table + 4, entries.data(), entries.size())) return;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t* e = entries.data() + i * kEntryBytes;
    uint64_t addr = load64(e), size = load64(e + 8);
    uint32_t type = load32(e + 16);
    if (type != kTypePmem && type != kTypePram) continue;
    uint64_t lo = (addr + kPageBytes - 1) & ~uint64_t(kPageBytes - 1), hi = (addr + size) & ~uint64_t(kPageBytes - 1);
    if (hi > mem.bytes) hi = mem.bytes & ~uint64_t(kPageBytes - 1);
    if (lo < hi && size < mem.bytes) pmem_.push_back({lo, hi});
  }
}

bool KernelMemory::in_pmem(uint64_t pa) const {
  for (const Range& r : pmem_) {
    if (pa >= r.lo && pa < r.hi) return true;
  }
  return false;
}

const KernelMemory::PerCpuArea* KernelMemory::per_cpu_area(uint64_t pa) const {
  for (const PerCpuArea& a : per_cpu_) {
    if (pa >= a.lo && pa < a.hi) return &a;
  }
  return nullptr;
}

void KernelMemory::mask_per_cpu(uint64_t pa, bool* masked) const {
  const PerCpuArea* area = per_cpu_area(pa);
  if (!area || one_cpu_) return;
  uint64_t page_off = pa - area->lo;
  for (const Range& r : per_cpu_masked_) {
    for (size_t w = 0; w < kPageBytes / 8; w++) {
      uint64_t at = page_off + w * 8;
      if (at < r.hi && at + 8 > r.lo) masked[w] = true;
    }
  }
}

bool KernelMemory::user_writable(const GuestMemory& mem, uint64_t mapping) const {
  if (!mapping_flags_at_) return false;
  uint64_t va = mapping + *mapping_flags_at_, flags = 0;
  if (va >= kDirectMap && va - kDirectMap + 8 <= mem.bytes) {
    flags = load64(mem.ram + (va - kDirectMap));
  } else if (uint8_t buf[8]; mem.read_virtual(va, buf, 8)) {
    flags = load64(buf);
  } else {
    return true;  // unreadable: not covered
  }
  return (flags >> user_writable_bit_) & 1;
}

// The size at which the struct pages of the kernel's text all read reserved, as they are
// from boot on (the padding after it is freed at boot); a wrong size reads other fields.
void KernelMemory::find_struct_page_size(const GuestMemory& mem) {
  uint64_t first = text_lo_ / kPageBytes, last = text_hi_ / kPageBytes;
  if (last <= first) last = first + 1;
  std::vector<uint32_t> sizes = {56u, 64u, 72u, 80u};
  if (struct_page_size_) sizes = {struct_page_size_};  // the kernel said: check it
  for (uint32_t size : sizes) {
    bool all = true;
    for (int i = 0; i < 16 && all; i++) {
      uint64_t pfn = first + (last - first) * i / 16;
      uint8_t buf[8];
      all = mem.read_virtual(kVmemmap + pfn * size + kFlagsAt, buf, 8) && (load64(buf) & kPgReserved);
    }
    if (all) {
      struct_page_size_ = size;
      return;
    }
  }
  throw RecordingError(RecordingError::Kind::Corrupt, kernel_.path(),
                       "memory digests: the guest's struct pages are not where a Linux 6.1 x86-64 kernel without "
                       "KASLR keeps them (vmemmap at 0xffffea0000000000)");
}

// A task's kernel stack: THREAD_SIZE-aligned (its own high-order allocation) with the
// kernel's STACK_END_MAGIC in its lowest word. Replay's input hooks leave other values than
// the recording's in its dead slots (below the stack pointer), so stacks are left out.
static bool in_kernel_stack(const GuestMemory& mem, uint32_t pfn) {
  uint64_t base = (uint64_t(pfn) * kPageBytes) & ~(kThreadSize - 1);
  return base + 8 <= mem.bytes && load64(mem.ram + base) == kStackEndMagic;
}

PageKind KernelMemory::classify(uint32_t pfn, const uint8_t* sp, const GuestMemory& mem, uint64_t ring_lo,
                                uint64_t ring_hi, uint64_t* free_until, Uncovered* why) const {
  auto none = [why](Uncovered w) {
    if (why) *why = w;
    return PageKind::None;
  };
  uint64_t pa = uint64_t(pfn) * kPageBytes;
  if (pa + kPageBytes > ring_lo && pa < ring_hi) return none(Uncovered::Ring);
  // Persistent memory: the kernel's DAX and block stores, what mkfs and the file system put
  // there (nothing frees it), unless user code may write it.
  if (in_pmem(pa)) return pmem_user_writable_ ? none(Uncovered::PmemUserWritable) : PageKind::Pmem;
  if (pfn < *free_until) return none(Uncovered::Free);  // inside a free block
  uint64_t flags = load64(sp + kFlagsAt);
  uint32_t page_type = load32(sp + kPageTypeAt);
  if (pa >= image_lo_ && pa < image_hi_) {
    if (pa + kPageBytes > stack_lo_ && pa < stack_hi_) return none(Uncovered::KernelStack);
    if (flags & kPgReserved) return PageKind::KernelData;
    // Init memory (__init_begin to __init_end) the kernel freed after boot: an ordinary page
    // since (rules 4 and earlier left it out: a DMA buffer there went unchecked), classified below.
  }
  if (flags & kPgReserved) {
    // Memblock: per-CPU areas, firmware. The tail of a unit past what the kernel uses went
    // back to the page allocator at boot: classified as any page below.
    const PerCpuArea* area = per_cpu_area(pa);
    if (!area) return none(Uncovered::Reserved);
    uint64_t off = pa - area->lo;
    for (const Range& r : per_cpu_stacks_) {
      if (off < r.hi && off + kPageBytes > r.lo) return none(Uncovered::KernelStack);
    }
    return PageKind::PerCpu;
  }
  if (has_type(page_type, kPgBuddy)) {
    // A free block of 2^order pages (order in private): the rest are not marked.
    uint64_t order = load64(sp + kPrivateAt);
    if (order < 11) *free_until = uint64_t(pfn) + (1ull << order);
    return none(Uncovered::Free);
  }
  // A compound page's tail: what its head is.
  std::vector<uint8_t> head;
  uint64_t compound_head = load64(sp + kCompoundHeadAt);
  if (compound_head & 1) {
    uint64_t head_va = compound_head - 1;
    if (head_va < kVmemmap || (head_va - kVmemmap) % struct_page_size_) return none(Uncovered::Unreadable);
    head.resize(struct_page_size_);
    if (!mem.read_virtual(head_va, head.data(), head.size())) return none(Uncovered::Unreadable);
    sp = head.data();
    flags = load64(sp + kFlagsAt);
    page_type = load32(sp + kPageTypeAt);
  }
  if (flags & kPgSlab) return PageKind::Slab;
  if (has_type(page_type, kPgTable)) return PageKind::PageTable;
  if (static_cast<int32_t>(page_type) >= 0) return none(Uncovered::UserMapped);  // _mapcount: mapped into user space
  if (page_type != 0xffffffffu) return none(Uncovered::OtherType);               // another page type
  uint64_t mapping = load64(sp + kMappingAt);
  if (mapping & 3) return none(Uncovered::Anonymous);  // anonymous (user data) or movable
  // A page under a device read is locked and not up to date until the kernel sees the read
  // complete: the device writes it whenever it likes (replay, where the log has it).
  if (mapping) {
    if ((flags & kPgLocked) || !(flags & kPgUptodate)) return none(Uncovered::InFlight);
    // User code may have written it through a shared mapping, since unmapped.
    if (user_writable(mem, mapping)) return none(Uncovered::UserWritable);
    // Covered when the kernel marks every mapping user code may write (layout version 2):
    // rules 2 left it out after an end digest of stress-ng found five unmarked page-cache
    // pages replay had as zeros, shared anonymous memory's (marked since).
    return page_cache_covered_ ? PageKind::PageCache : none(Uncovered::PageCacheOff);
  }
  // On an LRU list or swap-backed, with no mapping: a user page or page-cache page on its
  // way to being freed (truncated, unmapped, released in a batch), still holding what user
  // code wrote until init_on_free clears it.
  if (flags & (kPgLru | kPgSwapBacked)) return none(Uncovered::Leaving);
  // Allocated by the kernel for itself (kernel stacks, pipe buffers, vmalloc), or a page of
  // a high-order allocation after its first (no reference count of its own).
  return PageKind::Kernel;
}

std::vector<PageDigest> KernelMemory::digest(const GuestMemory& mem, bool only_written, std::vector<Uncovered>* why) {
  if (why) why->assign(mem.bytes / kPageBytes, Uncovered::Covered);
  if (!checked_) {
    find_struct_page_size(mem);
    checked_ = true;
  }
  find_per_cpu_areas(mem);
  find_pmem(mem);
  // Asked at every digest that may use the answer, so that the next answer starts from this
  // one; never for a whole digest (the end's), so a recording with only that one never starts
  // QEMU's log (under KVM, its write protection).
  std::vector<uint8_t> written;
  bool known = only_written && mem.written_since_last && mem.written_since_last(written) &&
               written.size() * 8 >= mem.bytes / kPageBytes;
  size_t prev = 0;  // last_ is in pfn order, as out
  last_hashed_ = 0;
  uint64_t ring_lo = 0, ring_hi = 0;
  if (ring_gpa_ && ring_gpa_ + 16 <= mem.bytes) {
    // The ring's header and records: QEMU writes them as well as the kernel.
    uint32_t header = load32(mem.ram + ring_gpa_ + 4) >> 16, size = load32(mem.ram + ring_gpa_ + 8);
    ring_lo = ring_gpa_ & ~uint64_t(kPageBytes - 1);
    ring_hi = ring_gpa_ + std::min<uint64_t>(uint64_t(header) + size, kMaxRingBytes);
  }
  std::vector<PageDigest> out;
  const uint64_t pages = mem.bytes / kPageBytes;
  const uint32_t sps = struct_page_size_;
  // The struct pages of 64 pages at a time (a few KiB of vmemmap).
  constexpr uint64_t kBatch = 64;
  std::vector<uint8_t> batch(kBatch * sps);
  bool masked[kPageBytes / 8];
  uint64_t free_until = 0;
  for (uint64_t first = 0; first < pages; first += kBatch) {
    uint64_t n = std::min(kBatch, pages - first);
    if (!mem.read_virtual(kVmemmap + first * sps, batch.data(), n * sps)) {
      // A hole in the vmemmap (no struct pages for that memory): nothing the kernel owns,
      // but persistent memory (a namespace without struct pages).
      std::fill(batch.begin(), batch.end(), 0);
      bool pmem = false;
      for (uint64_t i = 0; i < n && !pmem; i++) pmem = in_pmem((first + i) * kPageBytes);
      if (!pmem) {
        if (why) std::fill(why->begin() + first, why->begin() + first + n, Uncovered::Unreadable);
        continue;
      }
    }
    for (uint64_t i = 0; i < n; i++) {
      uint32_t pfn = static_cast<uint32_t>(first + i);
      Uncovered why_not = Uncovered::Covered;
      PageKind kind = classify(pfn, batch.data() + i * sps, mem, ring_lo, ring_hi, &free_until, &why_not);
      if (kind == PageKind::Kernel && in_kernel_stack(mem, pfn)) {
        // Only the top page's struct pt_regs, of a task no CPU runs now: the rest holds dead
        // slots replay's input hooks leave otherwise than the recording.
        uint64_t pa = uint64_t(pfn) * kPageBytes, top = (pa & ~(kThreadSize - 1)) + kThreadSize;
        bool running = std::find(running_stacks_.begin(), running_stacks_.end(), top) != running_stacks_.end();
        if (pa + kPageBytes == top && !running && !per_cpu_.empty()) {
          kind = PageKind::UserRegs;
        } else {
          kind = PageKind::None, why_not = Uncovered::KernelStack;
        }
      }
      if (why && kind == PageKind::None) (*why)[pfn] = why_not;
      if (kind == PageKind::None) continue;
      if (known && !(written[pfn / 8] & (1u << (pfn % 8)))) {
        while (prev < last_.size() && last_[prev].pfn < pfn) prev++;
        // The same bytes, hashed the same way (the FPU mask depends on the kind).
        if (prev < last_.size() && last_[prev].pfn == pfn && last_[prev].kind == kind) {
          out.push_back(last_[prev]);
          continue;
        }
      }
      const uint8_t* page = mem.ram + uint64_t(pfn) * kPageBytes;
      memset(masked, 0, sizeof masked);
      if (kind == PageKind::Slab) mask_fpu(page, masked);
      if (kind == PageKind::PerCpu) mask_per_cpu(uint64_t(pfn) * kPageBytes, masked);
      if (kind == PageKind::UserRegs) std::fill(masked, masked + (kPageBytes - kPtRegsBytes) / 8, true);
      out.push_back(digest_words(pfn, kind, page, masked));
      last_hashed_++;
    }
  }
  last_ = out;
  return out;
}

std::string KernelMemory::describe(uint32_t pfn, PageKind kind, int line) const {
  uint64_t pa = uint64_t(pfn) * kPageBytes;
  uint64_t off = line < 0 ? 0 : uint64_t(line) * 64;
  std::string s = fmt::format("page {:#x} ({}", pfn, to_string(kind));
  if (pa >= image_lo_ && pa < image_hi_ && kind == PageKind::KernelData) {
    uint64_t va = kKernelMap + pa + off;
    s += fmt::format(", {:#x}", va);
    if (auto sym = kernel_.symbol_at(va)) s += fmt::format(" <{}>", *sym);
  } else if (kind == PageKind::Pmem) {
    for (const Range& r : pmem_) {
      if (pa >= r.lo && pa < r.hi) s += fmt::format(", byte {:#x} of the region at {:#x}", pa + off - r.lo, r.lo);
    }
  } else if (const PerCpuArea* area = per_cpu_area(pa)) {
    uint64_t unit_off = pa + off - area->lo;
    s += fmt::format(" of CPU {}, direct map {:#x}", area->cpu, kDirectMap + pa + off);
    if (auto sym = kernel_.symbol_at(unit_off); sym && unit_off < kMaxPerCpuOffset) s += fmt::format(" <{}>", *sym);
  } else {
    s += fmt::format(", direct map {:#x}", kDirectMap + pa + off);
  }
  return s + ")";
}

std::vector<PageDigest> DigestTable::advance(const std::vector<PageDigest>& now) {
  std::vector<PageDigest> delta;
  std::map<uint32_t, PageDigest> next;
  for (const PageDigest& p : now) {
    auto it = pages_.find(p.pfn);
    if (it == pages_.end() || !(it->second == p)) delta.push_back(p);
    next.emplace(p.pfn, p);
  }
  for (const auto& [pfn, p] : pages_) {
    if (!next.count(pfn)) delta.push_back(PageDigest{pfn, PageKind::None, 0, {}});
  }
  std::sort(delta.begin(), delta.end(), [](const PageDigest& a, const PageDigest& b) { return a.pfn < b.pfn; });
  pages_ = std::move(next);
  return delta;
}

void DigestTable::apply(std::span<const PageDigest> delta) {
  for (const PageDigest& p : delta) {
    if (p.kind == PageKind::None) pages_.erase(p.pfn);
    else pages_[p.pfn] = p;
  }
}

uint64_t DigestTable::combined() const {
  uint64_t h = 0x243f6a8885a308d3ull;
  for (const auto& [pfn, p] : pages_) h = mix(mix(h, pfn | uint64_t(p.kind) << 32), p.hash);
  return h;
}

std::vector<PageMismatch> compare(const DigestTable& recorded, const std::vector<PageDigest>& replayed) {
  std::vector<PageMismatch> out;
  const auto& want = recorded.pages();
  auto w = want.begin();
  auto r = replayed.begin();
  while (w != want.end() || r != replayed.end()) {
    if (r == replayed.end() || (w != want.end() && w->first < r->pfn)) {
      out.push_back({w->first, w->second.kind, PageKind::None, -1, {}});
      ++w;
    } else if (w == want.end() || r->pfn < w->first) {
      out.push_back({r->pfn, PageKind::None, r->kind, -1, {}});
      ++r;
    } else {
      const PageDigest& a = w->second;
      if (!(a.hash == r->hash && a.kind == r->kind)) {
        PageMismatch m{a.pfn, a.kind, r->kind, -1, {}};
        for (size_t l = 0; l < kDigestLines; l++) {
          if (a.lines[l] != r->lines[l]) {
            if (m.first_line < 0) m.first_line = static_cast<int>(l);
            m.lines.push_back(static_cast<int>(l));
          }
        }
        out.push_back(m);
      }
      ++w;
      ++r;
    }
  }
  return out;
}

std::vector<uint8_t> encode_digests(std::span<const PageDigest> pages) {
  std::vector<uint8_t> out;
  out.reserve(pages.size() * kEncodedPage);
  for (const PageDigest& p : pages) {
    uint8_t kind[4] = {static_cast<uint8_t>(p.kind), 0, 0, 0};
    put(out, &p.pfn, 4);
    put(out, kind, 4);
    put(out, &p.hash, 8);
    put(out, p.lines.data(), p.lines.size());
  }
  return out;
}

std::vector<PageDigest> decode_digests(std::span<const uint8_t> data) {
  if (data.size() % kEncodedPage) {
    throw RecordingError(
        RecordingError::Kind::Corrupt, "events",
        fmt::format("a memory digest of {} bytes is no whole number of {}-byte pages", data.size(), kEncodedPage));
  }
  std::vector<PageDigest> out(data.size() / kEncodedPage);
  for (size_t i = 0; i < out.size(); i++) {
    const uint8_t* p = data.data() + i * kEncodedPage;
    out[i].pfn = load32(p);
    if (p[4] > static_cast<uint8_t>(PageKind::Last) || p[5] || p[6] || p[7]) {
      throw RecordingError(RecordingError::Kind::Corrupt, "events",
                           fmt::format("a memory digest names page kind {} for page {:#x}", p[4], out[i].pfn));
    }
    out[i].kind = static_cast<PageKind>(p[4]);
    out[i].hash = load64(p + 8);
    memcpy(out[i].lines.data(), p + 16, kDigestLines);
    if (i && out[i].pfn <= out[i - 1].pfn) {
      throw RecordingError(RecordingError::Kind::Corrupt, "events",
                           fmt::format("a memory digest's pages are out of order at page {:#x}", out[i].pfn));
    }
  }
  return out;
}

}  // namespace kvmrr
