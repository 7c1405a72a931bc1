// The pmem pass: a QEMU TCG plugin that logs what the guest does to its persistent memory.
//
// Loaded by `kvm-rr replay DIR --pass pmem`, or by hand on any TCG run of kvm-rr's QEMU:
//   -plugin build/lib/libkvmrr-pmem.so,out=DIR,base=0x...,size=0x...[,vmlinux=FILE]
// It writes DIR/pmem.log (kvmrr/pmem_log.h) and DIR/pmem-initial.img (the range as it was
// when the plugin first ran: the snapshot's content in a replay). Logged, in execution
// order, for the guest-physical range [base, base+size):
//  - every store: address, size, bytes written (read back after the store), PC, vCPU, and
//    whether the instruction stores non-temporally (MOVNTI, MOVNTDQ, ...);
//  - every cache-line flush (CLFLUSH, CLFLUSHOPT, CLWB): kvm-rr's QEMU makes them a byte
//    load of their address, so the memory callback gives the effective address as the CPU
//    computed it (any addressing mode, segment base included); WBINVD flushes everything;
//  - fences that can make something persistent: SFENCE, MFENCE, locked instructions and
//    serializing ones. A fence with nothing logged since the previous one changes nothing
//    a crash could see; it is counted (End record) but not logged;
//  - syscall boundaries: each entry at entry_SYSCALL_64 with its number, and the guest's
//    explicit checkpoints (kvmrr/checkpoint.h).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

extern "C" {
#include <qemu-plugin.h>
}

#include "kvmrr/checkpoint.h"
#include "kvmrr/pmem_image.h"
#include "kvmrr/pmem_log.h"
#include "kvmrr/vmlinux.h"
#include "x86_classify.h"

extern "C" {
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
}

namespace {

using namespace kvmrr::pmem;

// x86-64 register numbers in QEMU's gdb description.
constexpr unsigned kGdbRax = 0, kGdbRdi = 5;

struct Insn {
  uint64_t pc;
  InsnInfo info;
};

struct Pass {
  std::string out_dir;
  uint64_t base = 0, size = 0;
  uint64_t syscall_entry = 0;
  std::unique_ptr<LogWriter> log;
  std::mutex mu;                     // MTTCG runs vCPUs on several threads
  std::deque<Insn> insns;            // per translated instruction; stable addresses
  std::atomic<bool> pending{false};  // a store or flush logged since the last logged fence
  std::atomic<uint64_t> fences{0}, stores{0};
  bool image_saved = false;
  bool failed = false;
};

Pass* g_pass;

void fail(const std::string& why) {
  if (!g_pass->failed) fprintf(stderr, "kvm-rr pmem pass: %s\n", why.c_str());
  g_pass->failed = true;
}

void append(const RecordHeader& h, const void* data = nullptr) {
  std::lock_guard<std::mutex> lock(g_pass->mu);
  if (g_pass->failed) return;
  try {
    g_pass->log->append(h, data);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

// The range as it is before the guest runs, holes left sparse.
void save_initial_image() {
  Pass& p = *g_pass;
  p.image_saved = true;
  std::string path = p.out_dir + "/pmem-initial.img";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fail(path + ": " + strerror(errno));
  std::vector<uint8_t> block(1 << 16);
  try {
    for (uint64_t off = 0; off < p.size; off += block.size()) {
      size_t n = std::min<uint64_t>(block.size(), p.size - off);
      if (qemu_plugin_read_memory_phys(p.base + off, block.data(), n) != 0) {
        throw std::runtime_error("cannot read guest-physical memory at " + std::to_string(p.base + off));
      }
      write_sparse(fd, path, off, block.data(), n);
    }
    if (ftruncate(fd, off_t(p.size)) != 0) throw std::runtime_error(path + ": " + strerror(errno));
  } catch (const std::exception& e) {
    fail(e.what());
  }
  if (close(fd) != 0) fail(path + ": " + strerror(errno));
}

bool in_range(uint64_t pa, uint64_t n) { return pa >= g_pass->base && pa + n <= g_pass->base + g_pass->size; }

void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void* udata) {
  const Insn& insn = *static_cast<const Insn*>(udata);
  bool store = qemu_plugin_mem_is_store(info);
  if (!store && insn.info.cls != InsnClass::Flush) return;
  if (store) g_pass->stores.fetch_add(1, std::memory_order_relaxed);
  struct qemu_plugin_hwaddr* hw = qemu_plugin_get_hwaddr(info, vaddr);
  if (!hw || qemu_plugin_hwaddr_is_io(hw)) return;
  uint64_t pa = qemu_plugin_hwaddr_phys_addr(hw);
  uint32_t n = 1u << qemu_plugin_mem_size_shift(info);
  if (insn.info.cls == InsnClass::Flush && !store) {
    if (!in_range(pa, 1)) return;
    RecordHeader h{};
    h.type = RecordType::Flush;
    h.kind = insn.info.kind;
    h.vcpu = vcpu;
    h.pc = insn.pc;
    h.addr = pa;
    append(h);
    g_pass->pending = true;
    return;
  }
  if (!store || !in_range(pa, n)) return;
  uint8_t data[64];
  if (n > sizeof data || qemu_plugin_read_memory_phys(pa, data, n) != 0) {
    return fail("cannot read back a store at " + std::to_string(pa));
  }
  RecordHeader h{};
  h.type = RecordType::Store;
  h.flags = insn.info.cls == InsnClass::NonTemporalStore ? kStoreNonTemporal : 0;
  h.vcpu = vcpu;
  h.pc = insn.pc;
  h.addr = pa;
  h.size = n;
  append(h, data);
  g_pass->pending = true;
}

void on_fence(unsigned int vcpu, void* udata) {
  const Insn& insn = *static_cast<const Insn*>(udata);
  g_pass->fences.fetch_add(1, std::memory_order_relaxed);
  if (insn.info.cls == InsnClass::WriteBackAll) {
    RecordHeader h{};
    h.type = RecordType::Flush;
    h.kind = uint8_t(FlushKind::Wbinvd);
    h.vcpu = vcpu;
    h.pc = insn.pc;
    append(h);
  } else if (!g_pass->pending.exchange(false)) {
    return;
  }
  RecordHeader h{};
  h.type = RecordType::Fence;
  h.kind = insn.info.cls == InsnClass::WriteBackAll ? uint8_t(FenceKind::Serializing) : insn.info.kind;
  h.vcpu = vcpu;
  h.pc = insn.pc;
  append(h);
  g_pass->pending = false;
}

uint64_t read_gpr(unsigned reg) {
  uint64_t v = 0;
  if (qemu_plugin_read_register_gdb(reg, &v, sizeof v) < 0) fail("cannot read a vCPU register");
  return v;
}

// First instruction of entry_SYSCALL_64: a TB starts here, so registers are exact.
void on_syscall(unsigned int vcpu, void* udata) {
  uint64_t nr = read_gpr(kGdbRax), arg0 = read_gpr(kGdbRdi);
  RecordHeader h{};
  h.vcpu = vcpu;
  h.pc = g_pass->syscall_entry;
  if (nr == KVMRR_SYSCALL_CHECKPOINT) {
    h.type = RecordType::Checkpoint;
    h.addr = arg0;
  } else {
    h.type = RecordType::Syscall;
    h.addr = nr;
    h.arg = uint32_t(arg0);
  }
  append(h);
}

void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  Pass& p = *g_pass;
  if (!p.image_saved) save_initial_image();
  if (p.syscall_entry && qemu_plugin_tb_vaddr(tb) == p.syscall_entry) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_syscall, QEMU_PLUGIN_CB_R_REGS, nullptr);
  }
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) {
    struct qemu_plugin_insn* qi = qemu_plugin_tb_get_insn(tb, i);
    Insn* insn;
    {
      std::lock_guard<std::mutex> lock(p.mu);
      insn = &p.insns.emplace_back();
    }
    insn->pc = qemu_plugin_insn_vaddr(qi);
    insn->info = classify_x86(static_cast<const uint8_t*>(qemu_plugin_insn_data(qi)), qemu_plugin_insn_size(qi));
    switch (insn->info.cls) {
      case InsnClass::Fence:
      case InsnClass::WriteBackAll:
        qemu_plugin_register_vcpu_insn_exec_cb(qi, on_fence, QEMU_PLUGIN_CB_NO_REGS, insn);
        // A locked instruction also stores.
        qemu_plugin_register_vcpu_mem_cb(qi, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W, insn);
        break;
      case InsnClass::Flush:
        // kvm-rr's QEMU makes the flush a byte load (and fixes 7.2's R/W callback filter).
        qemu_plugin_register_vcpu_mem_cb(qi, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_R, insn);
        break;
      default: qemu_plugin_register_vcpu_mem_cb(qi, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W, insn); break;
    }
  }
}

void on_exit(qemu_plugin_id_t id, void* udata) {
  Pass& p = *g_pass;
  std::lock_guard<std::mutex> lock(p.mu);
  if (!p.image_saved) save_initial_image();
  try {
    if (!p.failed) p.log->end(p.fences.load(), p.stores.load());
  } catch (const std::exception& e) {
    fail(e.what());
  }
  p.log.reset();
}

bool parse_u64(const std::string& s, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  out = strtoull(s.c_str(), &end, 0);
  return errno == 0 && end && *end == '\0' && !s.empty();
}

}  // namespace

extern "C" QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                                      char** argv) {
  if (strcmp(info->target_name, "x86_64") != 0 || !info->system_emulation) {
    fprintf(stderr, "kvm-rr pmem pass: needs qemu-system-x86_64 (got %s)\n", info->target_name);
    return -1;
  }
  auto* p = new Pass;
  std::string vmlinux;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    std::string k = a.substr(0, eq), v = eq == std::string::npos ? "" : a.substr(eq + 1);
    bool ok = true;
    if (k == "out") {
      p->out_dir = v;
    } else if (k == "base") {
      ok = parse_u64(v, p->base);
    } else if (k == "size") {
      ok = parse_u64(v, p->size);
    } else if (k == "syscall_entry") {
      ok = parse_u64(v, p->syscall_entry);
    } else if (k == "vmlinux") {
      vmlinux = v;
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr,
              "kvm-rr pmem pass: bad argument '%s' (out=DIR base=GPA size=BYTES [vmlinux=FILE] [syscall_entry=ADDR])\n",
              argv[i]);
      return -1;
    }
  }
  if (p->out_dir.empty() || p->size == 0 || p->base % kLineSize || p->size % kLineSize) {
    fprintf(stderr, "kvm-rr pmem pass: needs out=DIR and a line-aligned base=GPA,size=BYTES\n");
    return -1;
  }
  try {
    if (!vmlinux.empty() && !p->syscall_entry) {
      kvmrr::Vmlinux k(vmlinux);
      auto entry = k.symbol("entry_SYSCALL_64");
      if (!entry) throw std::runtime_error(vmlinux + " has no entry_SYSCALL_64");
      p->syscall_entry = *entry;
    }
    p->log = std::make_unique<LogWriter>(p->out_dir + "/pmem.log", p->base, p->size);
  } catch (const std::exception& e) {
    fprintf(stderr, "kvm-rr pmem pass: %s\n", e.what());
    return -1;
  }
  if (!p->syscall_entry)
    fprintf(stderr, "kvm-rr pmem pass: no vmlinux= or syscall_entry=: syscalls and checkpoints are not logged\n");
  g_pass = p;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
  return 0;
}
