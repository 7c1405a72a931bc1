// The branch pass: a QEMU TCG plugin that logs every taken kernel branch of a replay window.
//
// Loaded by `kvm-rr replay --pass branches DIR`, or by hand on a replay:
//   -plugin build/lib/libkvmrr-branches.so,out=DIR,vmlinux=FILE[,from=N][,to=N][,pid=P]
// Writes DIR/branches.log (kvmrr/branch_log.h). TCG ends a translated block at every branch,
// so the pass needs no per-instruction work: a callback when a block starts and one when
// its last instruction runs. The next block of the same vCPU tells what happened: the
// block's branch was taken (its target, or anywhere for an indirect one), not taken (the
// fall-through), or control left the block some other way (an interrupt or exception).
// Replay runs no user code: a return to user mode is followed by the kernel entry replay
// performs, which the replay engine counts (kvmrr/replay-cursor.h); that cursor also gives
// the event index (the window) and the thread of the vCPU's last entry from user mode,
// which the pass carries across context switches (__switch_to_asm(prev, next)).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include <qemu-plugin.h>
}

#include "kvmrr/branch_log.h"
#include "kvmrr/replay-cursor.h"
#include "kvmrr/vmlinux.h"
#include "x86_branch.h"

extern "C" {
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
}

namespace {

using namespace kvmrr::branches;

// x86-64 register numbers in QEMU's gdb description.
constexpr unsigned kGdbRsi = 4, kGdbRdi = 5;

struct Block {
  uint64_t pc = 0, end = 0;  // [pc, end)
  uint64_t last_pc = 0;      // its last instruction
  uint32_t insns = 0;
  BranchInsn branch;
};

struct Vcpu {
  const Block* prev = nullptr;     // the block that ran last
  const Block* reached = nullptr;  // == prev when its last instruction ran
  uint64_t icount = 0;
  uint64_t entries = 0;  // the replay engine's count of this vCPU's entries from user mode
  uint32_t pid = 0;
};

struct Pass {
  std::string out;
  Window window;
  uint64_t switch_to = 0;  // __switch_to_asm
  KvmrrReplayCursorFn cursor = nullptr;
  bool cursor_looked = false, needs_cursor = false;
  std::unique_ptr<LogWriter> log;
  std::mutex mu;
  std::deque<Block> blocks;  // per translation; stable addresses
  std::vector<Vcpu> vcpus;
  std::unordered_map<uint64_t, uint32_t> pid_of_task;  // task_struct address -> thread
  uint64_t instructions = 0;                           // in the window
  bool failed = false;
};

Pass* g_pass;

void fail(const std::string& why) {
  if (!g_pass->failed) fprintf(stderr, "kvm-rr branches pass: %s\n", why.c_str());
  g_pass->failed = true;
}

Vcpu& vcpu_state(unsigned index) {
  if (index >= g_pass->vcpus.size()) g_pass->vcpus.resize(index + 1);
  return g_pass->vcpus[index];
}

void emit(Vcpu& v, unsigned index, uint64_t events, Kind kind, uint64_t from, uint64_t to) {
  if (g_pass->failed) return;
  try {
    g_pass->log->append(Record{from, to, v.icount, events, v.pid, uint16_t(index), kind, 0});
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

// The replay engine, found once the first block runs: QEMU loads it after the plugins.
void find_cursor() {
  g_pass->cursor_looked = true;
  if (const char* lib = getenv("KVMRR_LIB")) {
    if (void* h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD)) {
      g_pass->cursor = reinterpret_cast<KvmrrReplayCursorFn>(dlsym(h, KVMRR_REPLAY_CURSOR_SYMBOL));
    }
  }
  if (!g_pass->cursor && g_pass->needs_cursor) {
    fail(std::string("from=, to= and pid= need a kvm-rr replay: no ") + KVMRR_REPLAY_CURSOR_SYMBOL + " in $KVMRR_LIB");
  }
}

void on_block(unsigned index, void* udata) {
  const Block* b = static_cast<const Block*>(udata);
  std::lock_guard<std::mutex> lock(g_pass->mu);
  if (!g_pass->cursor_looked) find_cursor();
  Vcpu& v = vcpu_state(index);
  KvmrrReplayCursor c{};
  bool have = g_pass->cursor && g_pass->cursor(index, &c) == 0;
  bool entered = have && c.entries != v.entries;
  if (entered) {
    v.entries = c.entries;
    v.pid = uint32_t(c.entry_pid);
  }
  const Window& w = g_pass->window;
  bool in = (!have || (c.events >= w.from_event && c.events < w.to_event)) && (!w.pid || v.pid == w.pid);
  const Block* p = v.prev;
  if (p && (in || entered)) {
    bool reached = v.reached == p;
    using T = BranchInsn::Type;
    if (entered) {
      // The return ran before the replay consumed this entry's event: judged by the window
      // as it was then.
      bool was_in = c.events - 1 >= w.from_event && c.events - 1 < w.to_event && (!w.pid || v.pid == w.pid);
      if (was_in && reached && (p->branch.type == T::Sysret || p->branch.type == T::Iret)) {
        emit(v, index, c.events - 1, Kind::ToUser, p->last_pc, 0);
      }
      if (in) emit(v, index, c.events, Kind::Entry, 0, b->pc);
    } else if (in && !reached) {
      // Left inside the block: an exception or interrupt, unless it resumes there (replay
      // parked the vCPU at a hook, an I/O instruction restarted).
      if (b->pc < p->pc || b->pc >= p->end) emit(v, index, c.events, Kind::Interrupt, 0, b->pc);
    } else if (in && b->pc != p->end) {
      const BranchInsn& br = p->branch;
      bool to_target = br.target == 0 || br.target == b->pc;
      switch (br.type) {
        case T::Call: emit(v, index, c.events, to_target ? Kind::Call : Kind::Interrupt, p->last_pc, b->pc); break;
        case T::Return: emit(v, index, c.events, Kind::Return, p->last_pc, b->pc); break;
        case T::Jump:
        case T::CondJump: emit(v, index, c.events, to_target ? Kind::Jump : Kind::Interrupt, p->last_pc, b->pc); break;
        case T::Iret: emit(v, index, c.events, Kind::Iret, p->last_pc, b->pc); break;
        case T::Sysret: emit(v, index, c.events, Kind::ToUser, p->last_pc, 0); break;
        case T::None:
          // Back inside the block: a REP string instruction's next iteration (TCG runs each
          // as a pass through its block), not a transfer.
          if (b->pc < p->pc || b->pc >= p->end) emit(v, index, c.events, Kind::Interrupt, p->end, b->pc);
          break;
      }
    }
  }
  if (in) g_pass->instructions += b->insns;
  v.icount += b->insns;
  v.prev = b;
  v.reached = nullptr;
}

void on_last_insn(unsigned index, void* udata) {
  std::lock_guard<std::mutex> lock(g_pass->mu);
  vcpu_state(index).reached = static_cast<const Block*>(udata);
}

uint64_t read_reg(unsigned reg) {
  uint64_t v = 0;
  if (qemu_plugin_read_register_gdb(reg, &v, sizeof v) < 0) fail("cannot read a vCPU register");
  return v;
}

// __switch_to_asm(prev, next): the thread that runs next is next's.
void on_switch(unsigned index, void*) {
  uint64_t prev = read_reg(kGdbRdi), next = read_reg(kGdbRsi);
  std::lock_guard<std::mutex> lock(g_pass->mu);
  Vcpu& v = vcpu_state(index);
  if (v.pid) g_pass->pid_of_task[prev] = v.pid;
  auto it = g_pass->pid_of_task.find(next);
  v.pid = it == g_pass->pid_of_task.end() ? 0 : it->second;
}

void on_translate(qemu_plugin_id_t, qemu_plugin_tb* tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, n - 1);
  Block* b;
  {
    std::lock_guard<std::mutex> lock(g_pass->mu);
    b = &g_pass->blocks.emplace_back();
  }
  b->pc = qemu_plugin_tb_vaddr(tb);
  b->last_pc = qemu_plugin_insn_vaddr(last);
  b->end = b->last_pc + qemu_plugin_insn_size(last);
  b->insns = uint32_t(n);
  b->branch = classify_branch(static_cast<const uint8_t*>(qemu_plugin_insn_data(last)), qemu_plugin_insn_size(last),
                              b->last_pc);
  if (b->pc == g_pass->switch_to) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_switch, QEMU_PLUGIN_CB_R_REGS, nullptr);
  }
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
  qemu_plugin_register_vcpu_insn_exec_cb(last, on_last_insn, QEMU_PLUGIN_CB_NO_REGS, b);
}

void on_exit(qemu_plugin_id_t, void*) {
  std::lock_guard<std::mutex> lock(g_pass->mu);
  if (g_pass->failed) return;
  try {
    g_pass->log->finish(g_pass->instructions);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

bool number_arg(const std::string& v, uint64_t* out) {
  char* end = nullptr;
  *out = strtoull(v.c_str(), &end, 0);
  return !v.empty() && *end == '\0';
}

}  // namespace

extern "C" QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                                      char** argv) {
  if (!info->system_emulation) {
    fprintf(stderr, "kvm-rr branches pass: system emulation only\n");
    return -1;
  }
  g_pass = new Pass;
  std::string vmlinux;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    std::string key = a.substr(0, eq), val = eq == std::string::npos ? "" : a.substr(eq + 1);
    bool ok = true;
    if (key == "out") {
      g_pass->out = val;
    } else if (key == "vmlinux") {
      vmlinux = val;
    } else if (key == "from") {
      ok = number_arg(val, &g_pass->window.from_event);
    } else if (key == "to") {
      ok = number_arg(val, &g_pass->window.to_event);
    } else if (key == "pid") {
      ok = number_arg(val, &g_pass->window.pid);
    } else {
      ok = false;
    }
    if (!ok) {
      fprintf(stderr, "kvm-rr branches pass: bad argument '%s' (out=DIR,vmlinux=FILE[,from=N,to=N,pid=P])\n",
              a.c_str());
      return -1;
    }
  }
  if (g_pass->out.empty() || vmlinux.empty()) {
    fprintf(stderr, "kvm-rr branches pass: out=DIR and vmlinux=FILE are required\n");
    return -1;
  }
  try {
    kvmrr::Vmlinux kernel(vmlinux);
    g_pass->switch_to = kernel.symbol("__switch_to_asm").value_or(0);
    g_pass->log = std::make_unique<LogWriter>(g_pass->out + "/branches.log", g_pass->window);
  } catch (const std::exception& e) {
    fprintf(stderr, "kvm-rr branches pass: %s\n", e.what());
    return -1;
  }
  const Window& w = g_pass->window;
  g_pass->needs_cursor = w.from_event || w.to_event != UINT64_MAX || w.pid;
  if (g_pass->needs_cursor && !getenv("KVMRR_LIB")) {
    fprintf(stderr, "kvm-rr branches pass: from=, to= and pid= need a kvm-rr replay ($KVMRR_LIB)\n");
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
  return 0;
}
