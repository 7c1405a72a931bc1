#include "kvmrr/memory_digest.h"

#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "kvmrr/error.h"

namespace kvmrr {
namespace {

// A 4 MiB guest laid out as the fake image's symbols say: text at 1 MiB (16 pages), data
// from 1 MiB + 64 KiB (init_stack's 4 pages first) to 1 MiB + 256 KiB.
constexpr uint64_t kVmemmap = 0xffffea0000000000ull;
constexpr uint32_t kStructPage = 64;
constexpr uint64_t kPages = 1024;

struct FakeGuest {
  std::vector<uint8_t> ram = std::vector<uint8_t>(kPages * kPageBytes);
  std::vector<uint8_t> pages = std::vector<uint8_t>(kPages * kStructPage);  // struct pages
  FakeGuest() {
    for (uint32_t pfn = 0x100; pfn < 0x140; pfn++) set_flags(pfn, 1ull << 12);  // the image: reserved
    for (uint64_t i = 0; i < ram.size(); i++) ram[i] = uint8_t(i * 7 + 3);
  }
  void set_flags(uint32_t pfn, uint64_t flags) { memcpy(&pages[pfn * kStructPage], &flags, 8); }
  void set_type(uint32_t pfn, uint32_t type) { memcpy(&pages[pfn * kStructPage + 48], &type, 4); }
  void set_word(uint32_t pfn, size_t at, uint64_t v) { memcpy(&pages[pfn * kStructPage + at], &v, 8); }
  void unmapped(uint32_t pfn) { set_type(pfn, 0xffffffffu); }  // _mapcount -1
  // RAM at a physical address: the kernel's numbers and tables the digests read.
  void put32(uint64_t pa, uint32_t v) { memcpy(&ram[pa], &v, 4); }
  void put64(uint64_t pa, uint64_t v) { memcpy(&ram[pa], &v, 8); }
  GuestMemory memory() {
    GuestMemory m;
    m.ram = ram.data();
    m.bytes = ram.size();
    m.read_virtual = [this](uint64_t va, void* buf, size_t len) {
      constexpr uint64_t kDirectMap = 0xffff888000000000ull;
      if (va >= kDirectMap && va < kVmemmap) {
        if (va - kDirectMap + len > ram.size()) return false;
        memcpy(buf, &ram[va - kDirectMap], len);
        return true;
      }
      if (va < kVmemmap || va - kVmemmap + len > pages.size()) return false;
      memcpy(buf, &pages[va - kVmemmap], len);
      return true;
    };
    return m;
  }
};

std::vector<uint32_t> pfns(const std::vector<PageDigest>& d) {
  std::vector<uint32_t> out;
  for (const PageDigest& p : d) out.push_back(p.pfn);
  return out;
}

TEST(KernelMemory, CoversSlabPageTablesAndImageDataOnly) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  g.set_flags(0x200, 1ull << 9);   // slab
  g.set_type(0x201, 0xfffffdffu);  // page table (PG_table cleared in page_type)
  g.set_type(0x202, 0xffffff7fu);  // free (PageBuddy)
  g.set_flags(0x203, 1ull << 12);  // reserved outside the image: memblock, not covered
  g.set_type(0x204, 0);            // mapped into user space (_mapcount 0)
  KernelMemory km(kernel, 0);
  auto d = km.digest(g.memory());
  EXPECT_EQ(km.struct_page_size(), kStructPage);
  std::vector<uint32_t> want;
  for (uint32_t pfn = 0x114; pfn < 0x140; pfn++) want.push_back(pfn);  // data, init_stack left out
  want.push_back(0x200);
  want.push_back(0x201);
  EXPECT_EQ(pfns(d), want);
  EXPECT_EQ(d[d.size() - 2].kind, PageKind::Slab);
  EXPECT_EQ(d.back().kind, PageKind::PageTable);
  EXPECT_EQ(d.front().kind, PageKind::KernelData);
}

TEST(KernelMemory, CoversPageCacheAndKernelAllocationsButNotStacksOrFreeBlocks) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  for (uint32_t pfn = 0x200; pfn < 0x240; pfn++) g.unmapped(pfn);
  // 0x200: page cache, up to date; 0x201: page cache under a read (locked); 0x202: not up
  // to date; 0x203: anonymous; 0x204: movable.
  g.set_word(0x200, 24, 0xffff888000310000ull);
  g.set_flags(0x200, 1ull << 2);
  g.set_word(0x201, 24, 0xffff888000310000ull);
  g.set_flags(0x201, (1ull << 2) | 1);
  g.set_word(0x202, 24, 0xffff888000310000ull);
  g.set_word(0x203, 24, 0xffff888000310001ull);
  g.set_word(0x204, 24, 0xffff888000310002ull);
  // 0x206: no mapping but on an LRU list, 0x207: swap-backed: pages on their way out.
  g.set_flags(0x206, 1ull << 4);
  g.set_flags(0x207, 1ull << 19);
  // 0x208..0x20b: a kernel stack (STACK_END_MAGIC at its base); 0x20c: a kernel allocation.
  uint64_t magic = 0x57ac6e9d;
  memcpy(&g.ram[0x208 * kPageBytes], &magic, 8);
  // 0x210: a free block of order 2 (0x210..0x213); 0x214: allocated again.
  g.set_type(0x210, 0xffffff7fu);
  g.set_word(0x210, 40, 2);
  // 0x205: page cache of a file once mapped shared and writable (its mapping's flags at 0x50
  // have bit 9, as the fake kernel's kvmrr_memory_layout says), at RAM 0x300000.
  g.set_word(0x205, 24, 0xffff888000300000ull);
  g.set_flags(0x205, 1ull << 2);
  uint64_t as_flags = 1ull << 9, no_flags = 0;
  memcpy(&g.ram[0x300000 + 0x50], &as_flags, 8);
  memcpy(&g.ram[0x310000 + 0x50], &no_flags, 8);  // the other pages' mapping
  // 0x218: a compound head in the page cache, 0x219 its tail.
  g.set_word(0x218, 24, 0xffff888000310000ull);
  g.set_flags(0x218, 1ull << 2);
  g.set_word(0x219, 8, 0xffffea0000000000ull + 0x218 * kStructPage + 1);
  g.set_word(0x219, 24, 0x400);  // TAIL_MAPPING: not a mapping
  KernelMemory km(kernel, 0);
  km.cover_page_cache(true);
  std::map<uint32_t, PageKind> got;
  for (const PageDigest& d : km.digest(g.memory())) {
    if (d.pfn >= 0x200) got[d.pfn] = d.kind;
  }
  EXPECT_EQ(got[0x200], PageKind::PageCache);
  for (uint32_t pfn :
       {0x201u, 0x202u, 0x203u, 0x204u, 0x205u, 0x206u, 0x207u, 0x208u, 0x209u, 0x20bu, 0x210u, 0x211u, 0x213u}) {
    EXPECT_EQ(got.count(pfn), 0u) << std::hex << pfn;
  }
  EXPECT_EQ(got[0x20c], PageKind::Kernel);
  EXPECT_EQ(got[0x214], PageKind::Kernel);
  EXPECT_EQ(got[0x219], PageKind::PageCache);
}

TEST(KernelMemory, LeavesOutTheRingAndSavedFpuState) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  g.set_flags(0x300, 1ull << 9);
  g.set_flags(0x301, 1ull << 9);
  g.set_flags(0x302, 1ull << 9);
  // The ring at page 0x301: header_size 64, 4096 - 64 bytes of records.
  uint8_t* ring = &g.ram[0x301 * kPageBytes];
  uint32_t hs = 64u << 16, size = 4096 - 64;
  memcpy(ring + 4, &hs, 4);
  memcpy(ring + 8, &size, 4);
  KernelMemory km(kernel, 0x301 * kPageBytes);
  auto before = km.digest(g.memory());
  std::vector<uint32_t> covered = pfns(before);
  ASSERT_EQ(covered.back(), 0x302u);
  EXPECT_EQ(std::count(covered.begin(), covered.end(), 0x301u), 0);
  // An XSAVE legacy area in the slab page at 0x300 + 0x100: MXCSR 0x1f80, mask 0xffff.
  uint8_t* x = &g.ram[0x300 * kPageBytes + 0x100];
  uint64_t mxcsr = 0x0000ffff00001f80ull;
  memcpy(x + 24, &mxcsr, 8);
  auto with_area = km.digest(g.memory());
  x[0x40] ^= 0xff;  // an XMM register inside the area
  auto after = km.digest(g.memory());
  DigestTable t;
  t.advance(with_area);
  EXPECT_TRUE(compare(t, after).empty());
  x[0x300] ^= 0xff;  // past the area: covered
  EXPECT_EQ(compare(t, km.digest(g.memory())).size(), 1u);
}

// The CPU that saved the area says which MXCSR bits exist (MXCSR_MASK: 0xffff, 0xffbf without
// DAZ, bit 17 on AMD CPUs with misaligned SSE), and user code sets the rounding mode,
// flush-to-zero and the exception masks as it likes: a recording made on such a CPU, or of
// such a program, must not digest the area while replay (TCG, 0xffff, defaults) leaves it out.
TEST(KernelMemory, LeavesOutSavedFpuStateWhateverItsMxcsr) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  struct Case {
    uint32_t mxcsr, mask;
    bool fpu;
  };
  for (Case c : {Case{0x1f80, 0xffff, true}, Case{0x9fc0, 0xffff, true}, Case{0x7f80, 0xffff, true},
                 Case{0x1f80, 0x2ffff, true}, Case{0x1f80, 0xffbf, true}, Case{0x0d80, 0xffff, true},
                 Case{0x1f80, 0x1ffff, false}, Case{0x11f80, 0xffff, false}, Case{0x1fc0, 0xffbf, false}}) {
    FakeGuest g;
    g.set_flags(0x300, 1ull << 9);
    KernelMemory km(kernel, 0);
    uint8_t* x = &g.ram[0x300 * kPageBytes + 0x100];
    uint64_t word = uint64_t(c.mask) << 32 | c.mxcsr;
    memcpy(x + 24, &word, 8);
    DigestTable t;
    t.advance(km.digest(g.memory()));
    x[0x40] ^= 0xff;  // an XMM register inside the area
    EXPECT_EQ(compare(t, km.digest(g.memory())).empty(), c.fpu) << std::hex << c.mxcsr << " " << c.mask;
  }
}

// User code's XMM registers inside a saved area may look like an MXCSR pair in the recording
// and not in replay: they must not extend the area over the kernel data after it.
TEST(KernelMemory, AnMxcsrLookalikeInsideTheAreaMasksNothingMore) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  g.set_flags(0x300, 1ull << 9);
  KernelMemory km(kernel, 0);
  uint8_t* x = &g.ram[0x300 * kPageBytes + 0x100];
  uint64_t word = 0x0000ffff00001f80ull;
  memcpy(x + 24, &word, 8);
  x[0x240 + 8] = 7;  // kernel data right after the area
  DigestTable t;
  t.advance(km.digest(g.memory()));
  uint64_t lookalike = 0x0000ffff00000000ull;  // in XMM registers, 24 bytes into a line
  memcpy(x + 0xc0 + 24, &lookalike, 8);
  EXPECT_TRUE(compare(t, km.digest(g.memory())).empty());
  x[0x240 + 8] = 8;  // still covered
  EXPECT_EQ(compare(t, km.digest(g.memory())).size(), 1u);
}

// QEMU's dirty log says which pages were written: a periodic digest hashes those only, and
// the end's (every page) sees what a missed write would hide.
TEST(KernelMemory, HashesOnlyWrittenPagesWhenTheLogCanTell) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  g.set_flags(0x200, 1ull << 9);  // slab
  g.set_flags(0x201, 1ull << 9);
  std::vector<uint32_t> written;
  int answers = 0;
  GuestMemory mem = g.memory();
  mem.written_since_last = [&](std::vector<uint8_t>& bitmap) {
    bitmap.assign(kPages / 8, 0);
    for (uint32_t pfn : written) bitmap[pfn / 8] |= uint8_t(1u << (pfn % 8));
    written.clear();
    return answers++ > 0;  // the first call starts the log: cannot tell
  };
  KernelMemory km(kernel, 0);
  auto first = km.digest(mem, true);
  EXPECT_EQ(km.last_hashed(), first.size());  // the log could not tell yet
  g.ram[0x200 * kPageBytes] ^= 1;             // both pages change; the log says 0x200 only
  g.ram[0x201 * kPageBytes] ^= 1;
  written = {0x200};
  auto second = km.digest(mem, true);
  EXPECT_EQ(km.last_hashed(), 1u);
  auto at = [](const std::vector<PageDigest>& d, uint32_t pfn) {
    for (const PageDigest& p : d)
      if (p.pfn == pfn) return p;
    return PageDigest{};
  };
  EXPECT_NE(at(second, 0x200).hash, at(first, 0x200).hash);
  EXPECT_EQ(at(second, 0x201).hash, at(first, 0x201).hash);  // taken from the last digest
  // A page that became slab since is hashed though the log does not name it.
  g.set_flags(0x202, 1ull << 9);
  auto third = km.digest(mem, true);
  EXPECT_EQ(km.last_hashed(), 1u);
  EXPECT_EQ(at(third, 0x202).pfn, 0x202u);
  // A whole digest (the end's) hashes every page and sees 0x201's change, without asking
  // the log (a recording with only that one never starts it).
  int asked = answers;
  auto whole = km.digest(mem, false);
  EXPECT_EQ(km.last_hashed(), whole.size());
  EXPECT_EQ(answers, asked);
  EXPECT_NE(at(whole, 0x201).hash, at(first, 0x201).hash);
}

TEST(KernelMemory, RefusesAGuestWithoutStructPagesWhereExpected) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  for (uint32_t pfn = 0x100; pfn < 0x140; pfn++) g.set_flags(pfn, 0);
  KernelMemory km(kernel, 0);
  EXPECT_THROW(km.digest(g.memory()), RecordingError);
}

TEST(KernelMemory, DescribesImagePagesBySymbol) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  KernelMemory km(kernel, 0);
  EXPECT_NE(km.describe(0x118, PageKind::KernelData, 0).find("<jiffies>"), std::string::npos)
      << km.describe(0x118, PageKind::KernelData, 0);
  EXPECT_NE(km.describe(0x200, PageKind::Slab).find("direct map 0xffff888000200000"), std::string::npos);
}

// Two CPUs' per-CPU units of 8 pages at pfn 0x300 and 0x308 (fake_image_symbols.S: the
// IRQ stack at 0x2000-0x6000 of a unit, kvmrr_entry_info at 0x1010, the TSS at 0x6000), the
// last page of CPU 1's unit given back to the page allocator.
struct PerCpuGuest : FakeGuest {
  PerCpuGuest() {
    put32(0x118200, 2);       // nr_cpu_ids
    put32(0x118240, 0x8000);  // pcpu_unit_size
    put64(0x118100, 0xffff888000300000ull);
    put64(0x118108, 0xffff888000308000ull);
    for (uint32_t pfn = 0x300; pfn < 0x30f; pfn++) set_flags(pfn, 1ull << 12);
    set_type(0x30f, 0xffffff7fu);  // free (PageBuddy), order 0
  }
};

const PageDigest* find_page(const std::vector<PageDigest>& d, uint32_t pfn) {
  for (const PageDigest& p : d) {
    if (p.pfn == pfn) return &p;
  }
  return nullptr;
}

TEST(KernelMemory, CoversPerCpuAreasButTheirStacks) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PerCpuGuest g;
  KernelMemory km(kernel, 0);
  std::vector<Uncovered> why;
  auto d = km.digest(g.memory(), false, &why);
  for (uint32_t base : {0x300u, 0x308u}) {
    for (uint32_t i = 0; i < 8; i++) {
      uint32_t pfn = base + i;
      bool stack = i >= 2 && i < 6;
      if (base == 0x308 && i == 7) {
        EXPECT_EQ(why[pfn], Uncovered::Free) << pfn;
      } else if (stack) {
        EXPECT_EQ(find_page(d, pfn), nullptr) << pfn;
        EXPECT_EQ(why[pfn], Uncovered::KernelStack) << pfn;
      } else {
        ASSERT_NE(find_page(d, pfn), nullptr) << pfn;
        EXPECT_EQ(find_page(d, pfn)->kind, PageKind::PerCpu);
      }
    }
  }
  EXPECT_NE(km.describe(0x309, PageKind::PerCpu, 0).find("of CPU 1"), std::string::npos)
      << km.describe(0x309, PageKind::PerCpu, 0);
  EXPECT_NE(km.describe(0x306, PageKind::PerCpu, 0).find("<cpu_tss_rw>"), std::string::npos)
      << km.describe(0x306, PageKind::PerCpu, 0);
}

TEST(KernelMemory, PerCpuWordsWrittenBeforeTheKernelTokenAreLeftOut) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PerCpuGuest g;
  KernelMemory km(kernel, 0);
  auto before = km.digest(g.memory());
  // kvmrr_entry_info (0x1010, 16 bytes) and the TSS's sp2 (0x6014, in the words at 0x6010
  // and 0x6018) of CPU 1: masked.
  for (uint64_t at : {0x309010ull, 0x309018ull, 0x30e010ull, 0x30e01cull}) g.ram[at] ^= 0xff;
  auto masked = km.digest(g.memory());
  EXPECT_EQ(find_page(masked, 0x309)->hash, find_page(before, 0x309)->hash);
  EXPECT_EQ(find_page(masked, 0x30e)->hash, find_page(before, 0x30e)->hash);
  // ... but CPU 0's TSS page is covered, and a word beside the masked ones counts.
  g.ram[0x306010] ^= 0xff;
  EXPECT_EQ(find_page(km.digest(g.memory()), 0x306)->hash, find_page(before, 0x306)->hash);
  g.ram[0x309020] ^= 0xff;
  g.ram[0x306020] ^= 0xff;
  auto after = km.digest(g.memory());
  EXPECT_NE(find_page(after, 0x309)->hash, find_page(before, 0x309)->hash);
  EXPECT_NE(find_page(after, 0x306)->hash, find_page(before, 0x306)->hash);
}

TEST(KernelMemory, NoPerCpuAreasBeforeTheKernelSetsThemUp) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PerCpuGuest g;
  g.put32(0x118200, 0);  // nr_cpu_ids not set yet: reserved memory only
  KernelMemory km(kernel, 0);
  std::vector<Uncovered> why;
  auto d = km.digest(g.memory(), false, &why);
  EXPECT_EQ(find_page(d, 0x300), nullptr);
  EXPECT_EQ(why[0x300], Uncovered::Reserved);
  // An offset outside the direct map: that CPU's unit is not one.
  g.put32(0x118200, 2);
  g.put64(0x118100, 0xffffc90000000000ull);
  d = km.digest(g.memory(), false, &why);
  EXPECT_EQ(why[0x300], Uncovered::Reserved);
  EXPECT_EQ(find_page(d, 0x308)->kind, PageKind::PerCpu);
}

// Two tasks' kernel stacks (16 KiB, STACK_END_MAGIC at the bottom) at 0x340000 and 0x344000;
// CPU 0 runs on the second.
TEST(KernelMemory, CoversTheUserRegistersOfTasksNoCpuRuns) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PerCpuGuest g;
  for (uint32_t pfn = 0x340; pfn < 0x348; pfn++) g.unmapped(pfn);  // kernel allocations
  g.put64(0x340000, 0x57ac6e9d);
  g.put64(0x344000, 0x57ac6e9d);
  g.put64(0x301040, 0xffff888000348000ull);  // CPU 0's cpu_current_top_of_stack
  g.put64(0x309040, 0xffff888000100000ull);  // CPU 1's: not one of these
  KernelMemory km(kernel, 0);
  std::vector<Uncovered> why;
  auto d = km.digest(g.memory(), false, &why);
  ASSERT_NE(find_page(d, 0x343), nullptr);
  EXPECT_EQ(find_page(d, 0x343)->kind, PageKind::UserRegs);
  for (uint32_t pfn : {0x340u, 0x341u, 0x342u, 0x344u, 0x347u}) {
    EXPECT_EQ(find_page(d, pfn), nullptr) << pfn;
    EXPECT_EQ(why[pfn], Uncovered::KernelStack) << pfn;
  }
  uint64_t hash = find_page(d, 0x343)->hash;
  g.ram[0x343f57] ^= 0xff;  // below pt_regs (the top 168 bytes): dead slots
  EXPECT_EQ(find_page(km.digest(g.memory()), 0x343)->hash, hash);
  g.ram[0x343f58] ^= 0xff;  // pt_regs->r15
  EXPECT_NE(find_page(km.digest(g.memory()), 0x343)->hash, hash);
  // Once no CPU runs the second task, its registers count too.
  g.put64(0x301040, 0xffff888000100000ull);
  EXPECT_EQ(find_page(km.digest(g.memory()), 0x347)->kind, PageKind::UserRegs);
}

// With one CPU nothing races a digest: the stack it runs on and the words it writes entering
// the kernel count.
TEST(KernelMemory, OneCpuCoversItsRunningStackAndEntryWords) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PerCpuGuest g;
  g.put32(0x118200, 1);  // nr_cpu_ids
  for (uint32_t pfn = 0x340; pfn < 0x344; pfn++) g.unmapped(pfn);
  g.put64(0x340000, 0x57ac6e9d);
  g.put64(0x301040, 0xffff888000344000ull);  // CPU 0 runs on it
  KernelMemory km(kernel, 0);
  auto before = km.digest(g.memory());
  ASSERT_NE(find_page(before, 0x343), nullptr);
  EXPECT_EQ(find_page(before, 0x343)->kind, PageKind::UserRegs);
  g.ram[0x301010] ^= 0xff;  // kvmrr_entry_info
  EXPECT_NE(find_page(km.digest(g.memory()), 0x301)->hash, find_page(before, 0x301)->hash);
}

// Init memory the kernel freed after boot lies inside the image's bounds, no longer reserved:
// an ordinary page since, covered by what it holds now.
TEST(KernelMemory, ClassifiesFreedInitMemoryInsideTheImageAsAnyPage) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  FakeGuest g;
  g.set_flags(0x130, 1ull << 9);  // slab now
  g.set_flags(0x131, 0);
  g.set_type(0x131, 0xffffff7fu);  // free
  KernelMemory km(kernel, 0);
  std::vector<Uncovered> why;
  auto d = km.digest(g.memory(), false, &why);
  ASSERT_NE(find_page(d, 0x130), nullptr);
  EXPECT_EQ(find_page(d, 0x130)->kind, PageKind::Slab);
  EXPECT_EQ(why[0x131], Uncovered::Free);
  EXPECT_EQ(find_page(d, 0x12f)->kind, PageKind::KernelData);
}

// An e820 table (at pa 0x118400, the image's e820_table points there) with RAM, then a pmem
// range of 64 pages at pfn 0x380 as memmap=256K!3584K makes (type 12), then one of type 7.
struct PmemGuest : FakeGuest {
  PmemGuest() {
    put64(0x118300, 0xffff888000118400ull);
    put32(0x118400, 3);
    entry(0, 0, 0x380000, 1);
    entry(1, 0x380000, 0x40000, 12);
    entry(2, 0x3c8800, 0x2000, 7);  // not page-aligned at its start: pfn 0x3c9 only
    put32(0x118280, 0);
    for (uint32_t pfn = 0x380; pfn < 0x3d0; pfn++) set_flags(pfn, 1ull << 12);  // ZONE_DEVICE pages: reserved
  }
  void entry(int i, uint64_t addr, uint64_t size, uint32_t type) {
    uint64_t at = 0x118404 + i * 20;
    put64(at, addr);
    put64(at + 8, size);
    put32(at + 16, type);
  }
};

TEST(KernelMemory, CoversPersistentMemoryUntilUserCodeMayWriteIt) {
  Vmlinux kernel(KVMRR_FAKE_IMAGE_VMLINUX);
  PmemGuest g;
  KernelMemory km(kernel, 0);
  std::vector<Uncovered> why;
  auto d = km.digest(g.memory(), false, &why);
  for (uint32_t pfn : {0x380u, 0x3a0u, 0x3bfu, 0x3c9u}) {
    ASSERT_NE(find_page(d, pfn), nullptr) << pfn;
    EXPECT_EQ(find_page(d, pfn)->kind, PageKind::Pmem);
  }
  for (uint32_t pfn : {0x3c0u, 0x3c8u, 0x3cau}) EXPECT_EQ(why[pfn], Uncovered::Reserved) << pfn;
  EXPECT_NE(km.describe(0x381, PageKind::Pmem, 1).find("byte 0x1040 of the region at 0x380000"), std::string::npos)
      << km.describe(0x381, PageKind::Pmem, 1);
  // A file on it mapped shared and writable: user code may write it from now on.
  g.put32(0x118280, 1);
  d = km.digest(g.memory(), false, &why);
  EXPECT_EQ(find_page(d, 0x380), nullptr);
  EXPECT_EQ(why[0x380], Uncovered::PmemUserWritable);
  EXPECT_TRUE(user_owned(why[0x380]));
}

TEST(GuestMemory, WalksFourLevelsAndLargePages) {
  // PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000, PT at 0x4000; a 2 MiB page at 0x200000.
  std::vector<uint8_t> ram(4 << 20);
  auto set = [&](uint64_t at, uint64_t v) { memcpy(&ram[at], &v, 8); };
  uint64_t va = 0xffffea0000000000ull;  // PML4 index 468, the rest 0
  set(0x1000 + 468 * 8, 0x2000 | 1);
  set(0x2000, 0x3000 | 1);
  set(0x3000, 0x4000 | 1);           // first 2 MiB: 4 KiB pages
  set(0x3000 + 8, 0x200000 | 0x81);  // second 2 MiB: one large page
  set(0x4000 + 5 * 8, 0x7000 | 1);
  EXPECT_EQ(walk_page_tables(ram.data(), ram.size(), 0x1000, va + 5 * 4096 + 12), 0x7000u + 12);
  EXPECT_EQ(walk_page_tables(ram.data(), ram.size(), 0x1000, va + (2 << 20) + 0x1234), 0x201234u);
  EXPECT_FALSE(walk_page_tables(ram.data(), ram.size(), 0x1000, va + 6 * 4096));
  EXPECT_FALSE(walk_page_tables(ram.data(), ram.size(), 0x1000, 0xffff888000000000ull));
}

TEST(PageDigest, EachLineOnItsOwn) {
  std::vector<uint8_t> page(kPageBytes, 0x5a);
  PageDigest a = digest_page(7, PageKind::Slab, page.data());
  page[64 * 9 + 3] ^= 1;
  PageDigest b = digest_page(7, PageKind::Slab, page.data());
  EXPECT_NE(a.hash, b.hash);
  for (size_t l = 0; l < kDigestLines; l++) {
    if (l == 9) continue;
    EXPECT_EQ(a.lines[l], b.lines[l]) << "line " << l;
  }
}

TEST(DigestTable, DeltasRebuildTheTable) {
  std::vector<uint8_t> page(kPageBytes, 1);
  std::vector<PageDigest> first = {digest_page(1, PageKind::Slab, page.data()),
                                   digest_page(2, PageKind::PageTable, page.data()),
                                   digest_page(3, PageKind::KernelData, page.data())};
  page[100] = 9;
  std::vector<PageDigest> second = {digest_page(1, PageKind::Slab, page.data()), first[2],
                                    digest_page(4, PageKind::Slab, page.data())};
  DigestTable rec, rep;
  rep.apply(rec.advance(first));
  auto delta = rec.advance(second);
  ASSERT_EQ(pfns(delta), (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(delta[1].kind, PageKind::None);
  rep.apply(delta);
  EXPECT_EQ(rep.pages(), rec.pages());
  EXPECT_EQ(rep.combined(), rec.combined());
  EXPECT_TRUE(compare(rep, second).empty());
}

TEST(DigestTable, CompareNamesPageAndFirstLine) {
  std::vector<uint8_t> page(kPageBytes, 1);
  DigestTable t;
  t.advance({digest_page(5, PageKind::Slab, page.data()), digest_page(6, PageKind::Slab, page.data())});
  page[64 * 3] = 2;
  page[64 * 60 + 5] = 2;
  auto m = compare(t, {digest_page(5, PageKind::Slab, page.data())});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].pfn, 5u);
  EXPECT_EQ(m[0].first_line, 3);
  EXPECT_EQ(m[0].lines, (std::vector<int>{3, 60}));
  EXPECT_EQ(m[1].pfn, 6u);
  EXPECT_EQ(m[1].replayed, PageKind::None);
}

TEST(DigestCodec, RoundTripsAndRefusesMalformed) {
  std::vector<uint8_t> page(kPageBytes, 3);
  std::vector<PageDigest> d = {digest_page(1, PageKind::Slab, page.data()), PageDigest{9, PageKind::None, 0, {}}};
  auto bytes = encode_digests(d);
  EXPECT_EQ(decode_digests(bytes), d);
  auto cut = bytes;
  cut.pop_back();
  EXPECT_THROW(decode_digests(cut), RecordingError);
  auto bad_kind = bytes;
  bad_kind[4] = 9;
  EXPECT_THROW(decode_digests(bad_kind), RecordingError);
  auto swapped = encode_digests(std::vector<PageDigest>{d[1], d[0]});
  EXPECT_THROW(decode_digests(swapped), RecordingError);
}

}  // namespace
}  // namespace kvmrr
