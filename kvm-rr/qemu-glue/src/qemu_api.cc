// libkvmrr-qemu.so: what the patched QEMU loads (kvm-rr/abi/qemu/kvmrr/qemu-abi.h). The only
// code that speaks that C ABI: it turns the plain C calls into the recorder's and the
// replayer's C++ calls, C++ exceptions into error strings, and tells the engines what the
// host process knows (its command line, the front end's environment), which they never read
// themselves.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kvmrr/build_info.h"
#include "kvmrr/error.h"
#include "kvmrr/format.h"
#include "kvmrr/guest-abi.h"
#include "kvmrr/guest_records.h"
#include "kvmrr/qemu-abi.h"
#include "kvmrr/recorder.h"
#include "kvmrr/replay-cursor.h"
#include "kvmrr/replayer.h"

namespace {

namespace fs = std::filesystem;
using kvmrr::Recorder;

// The ABI's plain structs and the engines' C++ types hold the same things.
kvmrr::Regs to_regs(const KvmrrRegs* r) {
  kvmrr::Regs out;
  for (int i = 0; i < 16; i++) out.gpr[i] = r->gpr[i];
  out.rip = r->rip;
  out.rflags = r->rflags;
  out.cpl = r->cpl;
  return out;
}

static_assert(uint32_t(kvmrr::DmaTiming::AtSyncPoint) == KVMRR_DMA_AT_SYNC_POINT &&
              uint32_t(kvmrr::DmaTiming::InAccess) == KVMRR_DMA_IN_ACCESS &&
              uint32_t(kvmrr::DmaTiming::BeforeRun) == KVMRR_DMA_BEFORE_RUN &&
              uint32_t(kvmrr::DmaTiming::InUser) == KVMRR_DMA_IN_USER &&
              uint32_t(kvmrr::DmaTiming::Between) == KVMRR_DMA_BETWEEN);
static_assert(uint32_t(kvmrr::UserEntry::Kind::Syscall) == KVMRR_ENTRY_SYSCALL &&
              uint32_t(kvmrr::UserEntry::Kind::Exception) == KVMRR_ENTRY_EXCEPTION &&
              uint32_t(kvmrr::UserEntry::Kind::Interrupt) == KVMRR_ENTRY_INTERRUPT);
static_assert(kvmrr::Replayer::kMaxVcpus == KVMRR_REPLAY_MAX_VCPUS);

// A program started through the dynamic loader (`ld-linux-x86-64.so.2 QEMU ARGS`, as
// tools/kvm-lab runs its copy of QEMU) has the loader as /proc/self/exe and argv[0].
bool is_dynamic_loader(const fs::path& p) {
  std::string name = p.filename().string();
  return name.rfind("ld-linux", 0) == 0 || name.rfind("ld.so", 0) == 0;
}

// QEMU's command line, without a dynamic loader that started it.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  std::string arg;
  while (std::getline(in, arg, '\0')) argv.push_back(arg);
  if (argv.size() > 1 && is_dynamic_loader(argv[0])) argv.erase(argv.begin());
  return argv;
}

// The patches QEMU was built with: build-qemu.sh leaves patches.txt beside bin/.
std::vector<std::string> qemu_patches() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (is_dynamic_loader(exe)) {
    std::vector<std::string> argv = own_command_line();
    if (!argv.empty()) exe = fs::absolute(argv[0], ec);
  }
  std::ifstream in(exe.parent_path().parent_path() / "patches.txt");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string env(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

// What QEMU said, and what the front end set in the environment (KVMRR_VMLINUX,
// KVMRR_GUEST_COMMAND).
kvmrr::RecordSetup record_setup(const KvmrrRecordInfo& info) {
  kvmrr::RecordSetup s;
  s.dir = info.dir;
  s.qemu_version = info.qemu_version ? info.qemu_version : "";
  s.qemu_patches = qemu_patches();
  s.command_line = own_command_line();
  s.accel = info.accel ? info.accel : "";
  s.cpu_model = info.cpu_model ? info.cpu_model : "";
  s.machine = info.machine ? info.machine : "";
  s.smp = info.smp;
  s.memory_mb = info.memory_mb;
  for (size_t i = 0; i < info.cpuid_count; i++) {
    const KvmrrCpuidEntry& e = info.cpuid[i];
    s.cpuid.push_back({e.leaf, e.subleaf, e.eax, e.ebx, e.ecx, e.edx});
  }
  s.guest_ring_gpa = info.guest_ring_gpa;
  s.vmlinux = env("KVMRR_VMLINUX");
  s.guest_command = env("KVMRR_GUEST_COMMAND");
  // KVMRR_CHECKSUM (the front end's --checksum): when to take memory digests.
  try {
    s.digests = kvmrr::DigestPolicy::parse(env("KVMRR_CHECKSUM").empty() ? "off" : env("KVMRR_CHECKSUM"));
  } catch (const std::invalid_argument& e) {
    throw kvmrr::RecordingError(kvmrr::RecordingError::Kind::Io, s.dir, std::string("KVMRR_CHECKSUM: ") + e.what());
  }
  // KVMRR_PMEM=BASE:SIZE (bytes): the guest's pmem region, as the front end configured it.
  if (std::string p = env("KVMRR_PMEM"); !p.empty()) {
    unsigned long long base = 0, size = 0;
    char end = 0;
    if (sscanf(p.c_str(), "%llu:%llu%c", &base, &size, &end) != 2 || !size) {
      throw kvmrr::RecordingError(kvmrr::RecordingError::Kind::Io, s.dir,
                                  "KVMRR_PMEM is \"" + p + "\"; expected BASE:SIZE in bytes");
    }
    s.pmem = kvmrr::PmemRegion{base, size};
  }
  return s;
}

// One recording at a time per QEMU process. Start/stop run with the VM stopped; the log
// calls come from vCPU threads and only ever see a fully constructed recorder.
std::mutex g_mu;
uint64_t g_ram_bytes;  // memory_attach's, for memory_written
std::unique_ptr<Recorder> g_recorder;
std::string g_snapshot_path;
std::string g_last;  // outcome of the last recording, for `info rr`

void set_error(char* err, size_t size, const std::string& msg) {
  if (err && size > 0) snprintf(err, size, "%s", msg.c_str());
}

size_t describe(char* buf, size_t size) {
  std::string text;
  {
    std::lock_guard lock(g_mu);
    if (g_recorder) {
      text = fmt::format("state: {}\nrecording: {}\nevents: {}\n",
                         g_recorder->failed() ? "recording FAILED (see QEMU's messages)" : "recording",
                         g_recorder->recording().dir().string(), g_recorder->events());
    } else {
      text = "state: idle (not recording, not replaying)\n";
      if (!g_last.empty()) text += "last recording: " + g_last + "\n";
    }
  }
  if (buf && size > 0) snprintf(buf, size, "%s", text.c_str());
  return text.size();
}

int record_start(const KvmrrRecordInfo* info, char* err, size_t err_size) {
  std::lock_guard lock(g_mu);
  if (g_recorder) {
    set_error(err, err_size, fmt::format("already recording to {}", g_recorder->recording().dir().string()));
    return -1;
  }
  try {
    g_recorder = std::make_unique<Recorder>(record_setup(*info));
    g_snapshot_path = g_recorder->snapshot_path();
    return 0;
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
    return -1;
  }
}

void record_counts(const KvmrrRecordCounts* c) {
  std::lock_guard lock(g_mu);
  if (!g_recorder || !c) return;
  static const char* const kReasons[KVMRR_EXIT_KINDS] = {"io_device", "io_kvmrr", "mmio", "hlt", "kick", "other"};
  std::map<std::string, uint64_t> exits;
  for (size_t i = 0; i < KVMRR_EXIT_KINDS; i++) {
    if (c->exits[i]) exits[kReasons[i]] = c->exits[i];
  }
  g_recorder->set_qemu_counts(exits, c->bql_handoffs, c->token_handoffs);
}

void record_identify_kernel(KvmrrPhysReadFn read, void* opaque, uint64_t ram_bytes) {
  std::lock_guard lock(g_mu);
  if (!g_recorder || !read) return;
  try {
    std::string mismatch = g_recorder->identify_kernel(
        [&](uint64_t gpa, void* buf, size_t len) { return read(opaque, gpa, buf, len) == 0; }, ram_bytes);
    if (!mismatch.empty()) fprintf(stderr, "kvm-rr record: warning: %s\n", mismatch.c_str());
  } catch (const std::exception& e) {
    fprintf(stderr, "kvm-rr record: warning: the guest kernel's identity: %s\n", e.what());
  }
}

int record_stop(char* err, size_t err_size) {
  std::lock_guard lock(g_mu);
  if (!g_recorder) {
    set_error(err, err_size, "not recording");
    return -1;
  }
  // Counted before finish(), which closes the stream (and with it the writer's count).
  uint64_t events = g_recorder->events();
  try {
    g_recorder->finish();
    g_last = fmt::format("{} ({} events, complete)", g_recorder->recording().dir().string(), events);
    g_recorder.reset();
    return 0;
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
    g_last = fmt::format("{} ({} events, failed: {})", g_recorder->recording().dir().string(), events, e.what());
    g_recorder.reset();
    return -1;
  }
}

void record_abort(const char* why) {
  std::lock_guard lock(g_mu);
  if (!g_recorder) return;
  try {
    g_recorder->abort(why ? why : "aborted");
  } catch (const std::exception&) {
    // abort() is the error path already; the caller reports the original error.
  }
  g_last = fmt::format("{} (aborted: {})", g_recorder->recording().dir().string(), why ? why : "");
  g_recorder.reset();
}

const char* snapshot_path() { return g_snapshot_path.c_str(); }

// Log calls happen only between a successful start and stop, which QEMU brackets with the
// VM stopped, so g_recorder cannot change under them. No exception may cross into QEMU: a
// failure (a full disk, say) fails the recording, which then logs nothing more and ends
// without an END frame; the reason goes to stderr now, to rr_end_record's answer, and to
// meta.json where the disk still has room.
template <typename F>
void guarded(F&& f) {
  if (!g_recorder || g_recorder->failed()) return;
  try {
    f();
  } catch (const std::exception& e) {
    g_recorder->fail(e.what());
    fprintf(stderr, "kvm-rr: recording failed: %s\n", e.what());
  }
}

void log_io_in(uint32_t vcpu, const KvmrrRegs* regs, uint16_t port, uint32_t size, uint64_t value) {
  guarded([&] { g_recorder->log_io_in(vcpu, to_regs(regs), port, size, value); });
}
void log_mmio_read(uint32_t vcpu, const KvmrrRegs* regs, uint64_t gpa, uint32_t size, uint64_t value) {
  guarded([&] { g_recorder->log_mmio_read(vcpu, to_regs(regs), gpa, size, value); });
}
void log_interrupt(uint32_t vcpu, const KvmrrRegs* regs, uint32_t vector, uint64_t sync_point) {
  guarded([&] { g_recorder->log_interrupt(vcpu, to_regs(regs), vector, sync_point); });
}

void log_dma(uint32_t vcpu, uint64_t sync_count, uint32_t during_io, uint64_t ram_addr, const void* data, size_t len) {
  guarded([&] {
    g_recorder->log_dma(vcpu, sync_count, kvmrr::DmaTiming(during_io), ram_addr, static_cast<const uint8_t*>(data),
                        len);
  });
}

void log_pte(uint32_t vcpu, uint64_t sync_count, uint64_t ram_addr, const void* data, size_t len) {
  guarded([&] {
    // The page walk of user code: the vCPU is in user mode.
    g_recorder->log_dma(vcpu, sync_count, kvmrr::DmaTiming::InUser, ram_addr, static_cast<const uint8_t*>(data), len,
                        kvmrr::EventType::Pte);
  });
}

void log_deschedule(uint32_t vcpu, const KvmrrRegs* regs, uint64_t sync_count) {
  guarded([&] { g_recorder->log_deschedule(vcpu, to_regs(regs), sync_count); });
}

void record_guest_point(uint32_t vcpu, uint64_t sync_point, uint32_t what) {
  guarded([&] { g_recorder->guest_point(vcpu, sync_point, what == KVMRR_POINT_STOP); });
}

void log_resume(uint32_t vcpu, const KvmrrRegs* regs, uint64_t sync_count) {
  guarded([&] { g_recorder->log_resume(vcpu, to_regs(regs), sync_count); });
}

int log_guest_records(const void* records, size_t size, char* err, size_t err_size) {
  // A failed recording was reported once; later drains just discard.
  if (!g_recorder || g_recorder->failed()) return 0;
  bool ok = true;
  guarded([&] {
    try {
      g_recorder->log_guest_records(static_cast<const uint8_t*>(records), size);
    } catch (const std::exception& e) {
      set_error(err, err_size, e.what());
      ok = false;
      throw;
    }
  });
  return ok ? 0 : -1;
}

// Replay: one per QEMU process, created before the first vCPU instruction and used by the
// vCPU thread. As for recording, no exception crosses into QEMU: an unexpected one ends
// replay, and replay_finish() reports it.
std::unique_ptr<kvmrr::Replayer> g_replayer;
std::string g_replay_dir;
std::string g_replay_error;
using Step = kvmrr::Replayer::Step;

template <typename F>
int replaying(F&& f) {
  if (!g_replayer || !g_replay_error.empty()) return KVMRR_REPLAY_STOP;
  try {
    switch (f()) {
      case Step::Continue: return KVMRR_REPLAY_CONTINUE;
      case Step::Wait: return KVMRR_REPLAY_WAIT;
      default: return KVMRR_REPLAY_STOP;
    }
  } catch (const std::exception& e) {
    g_replay_error = e.what();
    return KVMRR_REPLAY_STOP;
  }
}

int replay_start(const char* dir, KvmrrReplayInfo* info, char* err, size_t err_size) {
  const char* vmlinux = getenv("KVMRR_VMLINUX");
  if (!vmlinux || !*vmlinux) {
    set_error(err, err_size, "KVMRR_VMLINUX is not set: replay needs the recorded guest kernel's vmlinux");
    return -1;
  }
  try {
    g_replayer = std::make_unique<kvmrr::Replayer>(dir, vmlinux);
    g_replay_dir = dir;
    // KVMRR_STATE_LOG (the front end's --state-log): RAM page hashes at each digest.
    if (const char* log = getenv("KVMRR_STATE_LOG"); log && *log) g_replayer->log_memory_state(log);
    const kvmrr::ReplayHooks& h = g_replayer->hooks();
    *info = KvmrrReplayInfo{};
    info->guest_ring_gpa = h.guest_ring_gpa;
    info->hook_tsc = h.tsc;
    info->hook_user_read = h.user_read;
    info->hook_user_value = h.user_value;
    info->hook_entry_log = h.entry_log;
    info->hook_yield_point = h.yield_point;
    for (size_t v = 0; v < KVMRR_REPLAY_MAX_VCPUS; v++) {
      info->yield_target[v] = v < h.yield_target.size() ? h.yield_target[v] : UINT64_MAX;
    }
    info->smp = h.smp;
    return 0;
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
    return -1;
  }
}
int replay_io_in(uint32_t vcpu, const KvmrrRegs* regs, uint16_t port, uint32_t size, uint64_t* value) {
  return replaying([&] { return g_replayer->io_in(vcpu, to_regs(regs), port, size, value); });
}
int replay_mmio_read(uint32_t vcpu, const KvmrrRegs* regs, uint64_t gpa, uint32_t size, uint64_t* value) {
  return replaying([&] { return g_replayer->mmio_read(vcpu, to_regs(regs), gpa, size, value); });
}
int replay_sync_point(uint32_t vcpu, const KvmrrRegs* regs, uint64_t sync_count, uint32_t halted, int32_t* vector,
                      uint32_t* switched) {
  *vector = -1;
  *switched = 0;
  return replaying([&] {
    bool d = false;
    Step s = g_replayer->sync_point(vcpu, to_regs(regs), sync_count, halted != 0, vector, &d);
    *switched = d;
    return s;
  });
}
int replay_interrupt(uint32_t vcpu, const KvmrrRegs* regs, uint32_t vector) {
  return replaying([&] { return g_replayer->interrupt(vcpu, to_regs(regs), vector); });
}
int ring_header_check(uint32_t head, uint32_t size, uint32_t header_size, char* err, size_t err_size) {
  std::string bad = kvmrr::check_guest_ring_header(head, size, header_size, sizeof(struct kvmrr_ring));
  if (bad.empty()) return 0;
  bad = "the guest's event ring is malformed: " + bad;
  set_error(err, err_size, bad);
  std::lock_guard lock(g_mu);
  if (g_recorder) g_recorder->fail(bad);
  return -1;
}

int replay_user_return(uint32_t vcpu, const KvmrrRegs* regs) {
  return replaying([&] { return g_replayer->user_return(vcpu, to_regs(regs)); });
}
int replay_user_entry(uint32_t vcpu, KvmrrUserEntry* entry) {
  return replaying([&] {
    kvmrr::UserEntry e;
    Step s = g_replayer->user_entry(vcpu, &e);
    if (s == Step::Continue) {
      entry->kind = uint32_t(e.kind);
      entry->vector = e.vector;
      entry->error_code = e.error_code;
      entry->cr2 = e.cr2;
      static_assert(sizeof entry->regs == sizeof e.regs);
      memcpy(entry->regs, e.regs.data(), sizeof entry->regs);
    }
    return s;
  });
}

// The engines take std::function; QEMU gives a C function and its opaque pointer.
kvmrr::RamWrite ram_write(KvmrrRamWriteFn write, void* opaque) {
  if (!write) return {};
  return [=](uint64_t addr, const void* buf, size_t len) { return write(opaque, addr, buf, len); };
}
kvmrr::GuestWrite guest_write(KvmrrGuestWriteFn write, void* opaque) {
  if (!write) return {};
  return [=](uint64_t vaddr, const void* buf, size_t len) { return write(opaque, vaddr, buf, len); };
}
int replay_entry_logged(uint32_t vcpu, uint64_t sync_count, KvmrrRamWriteFn write, void* opaque) {
  return replaying([&] { return g_replayer->entry_logged(vcpu, sync_count, ram_write(write, opaque)); });
}
int replay_tsc(uint32_t vcpu, const KvmrrRegs* regs, uint64_t rip, uint64_t* value) {
  return replaying([&] { return g_replayer->tsc(vcpu, to_regs(regs), rip, value); });
}
int replay_user_read(uint32_t vcpu, const KvmrrRegs* regs, uint64_t rip, uint64_t uaddr, uint64_t len, uint32_t kind,
                     uint64_t copy, KvmrrGuestWriteFn write, void* opaque) {
  return replaying([&] {
    return g_replayer->user_read(vcpu, to_regs(regs), rip, uaddr, len, kind, copy, guest_write(write, opaque));
  });
}

int replay_user_value(uint32_t vcpu, const KvmrrRegs* regs, uint64_t rip, uint64_t uaddr, uint64_t size,
                      uint64_t* value, KvmrrGuestWriteFn write, void* opaque) {
  return replaying(
      [&] { return g_replayer->user_value(vcpu, to_regs(regs), rip, uaddr, size, value, guest_write(write, opaque)); });
}
int replay_yield_point(uint32_t vcpu, const KvmrrRegs* regs, uint64_t rip, uint64_t count, uint32_t* open) {
  *open = 0;
  return replaying([&] { return g_replayer->yield_point(vcpu, to_regs(regs), rip, count, open); });
}
int replay_yield_window(uint32_t vcpu, uint64_t count, uint64_t* next_target) {
  return replaying([&] { return g_replayer->yield_window(vcpu, count, next_target); });
}
int replay_dma(uint32_t vcpu, uint64_t sync_count, uint32_t during_io, KvmrrRamWriteFn write, void* opaque) {
  return replaying(
      [&] { return g_replayer->dma(vcpu, sync_count, kvmrr::DmaTiming(during_io), ram_write(write, opaque)); });
}
uint32_t cpuid_subleaves(uint32_t leaf) { return kvmrr::cpuid_has_subleaves(leaf) ? 64 : 1; }

int replay_cpuid(uint32_t, uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
  return g_replayer && g_replayer->cpuid(leaf, subleaf, out) ? 1 : 0;
}
int replay_guest_records(const void* records, size_t size) {
  return replaying([&] { return g_replayer->guest_records(static_cast<const uint8_t*>(records), size); });
}
int replay_turn() {
  if (!g_replayer || !g_replay_error.empty()) return -1;
  try {
    return g_replayer->turn();
  } catch (const std::exception& e) {
    g_replay_error = e.what();
    return -1;
  }
}
int replay_finish(KvmrrGuestReadFn read, void* opaque) {
  if (!g_replayer) return 2;
  if (!g_replay_error.empty()) fprintf(stderr, "kvm-rr replay: error: %s\n", g_replay_error.c_str());
  try {
    kvmrr::GuestRead guest_read;
    if (read) {
      uint32_t vcpu = g_replayer->session().divergence() ? g_replayer->session().divergence()->vcpu : 0;
      guest_read = [=](uint64_t vaddr, void* buf, size_t len) { return read(opaque, vcpu, vaddr, buf, len) == 0; };
    }
    int status = g_replayer->finish(guest_read);
    return g_replay_error.empty() ? status : 2;
  } catch (const std::exception& e) {
    fprintf(stderr, "kvm-rr replay: error: %s\n", e.what());
    return 2;
  }
}

void memory_attach(const void* ram, uint64_t ram_bytes) {
  g_ram_bytes = ram_bytes;
  if (g_replayer) {
    g_replayer->attach_memory(static_cast<const uint8_t*>(ram), ram_bytes);
    return;
  }
  std::lock_guard lock(g_mu);
  if (g_recorder) g_recorder->attach_memory(static_cast<const uint8_t*>(ram), ram_bytes);
}

void memory_written(KvmrrRamWrittenFn fn, void* opaque) {
  uint64_t pages = g_ram_bytes / 4096;
  auto written = [fn, opaque, pages](std::vector<uint8_t>& bitmap) {
    bitmap.assign((pages + 7) / 8, 0);
    return fn(opaque, bitmap.data(), pages) == 0;
  };
  if (g_replayer) {
    g_replayer->track_writes(written);
    return;
  }
  std::lock_guard lock(g_mu);
  if (g_recorder) g_recorder->track_writes(written);
}

uint32_t replay_stop_drains() {
  try {
    return kvmrr::Recording::open(g_replay_dir).meta().format_version >= 4 ? 1 : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

int replay_check_machine(const char* machine, uint64_t memory_mb, uint32_t smp, char* err, size_t err_size) {
  try {
    std::string diff =
        kvmrr::machine_differences(kvmrr::Recording::open(g_replay_dir).meta(), machine ? machine : "", memory_mb, smp);
    if (diff.empty()) return 0;
    set_error(err, err_size, "this machine is not the recording's: it had " + diff);
  } catch (const std::exception& e) {
    set_error(err, err_size, e.what());
  }
  return -1;
}

const KvmrrQemuApi kApi = {
    .abi_version = KVMRR_QEMU_ABI_VERSION,
    .format_version = kvmrr::kFormatVersion,
    .library_version = "kvm-rr " KVMRR_VERSION " (" KVMRR_GIT ")",
    .describe = describe,
    .record_start = record_start,
    .record_stop = record_stop,
    .record_abort = record_abort,
    .snapshot_path = snapshot_path,
    .log_io_in = log_io_in,
    .log_mmio_read = log_mmio_read,
    .log_interrupt = log_interrupt,
    .log_guest_records = log_guest_records,
    .log_dma = log_dma,
    .log_pte = log_pte,
    .log_deschedule = log_deschedule,
    .log_resume = log_resume,
    .replay_start = replay_start,
    .replay_io_in = replay_io_in,
    .replay_mmio_read = replay_mmio_read,
    .replay_sync_point = replay_sync_point,
    .replay_interrupt = replay_interrupt,
    .replay_user_entry = replay_user_entry,
    .replay_entry_logged = replay_entry_logged,
    .replay_tsc = replay_tsc,
    .replay_user_read = replay_user_read,
    .replay_user_value = replay_user_value,
    .replay_yield_point = replay_yield_point,
    .replay_yield_window = replay_yield_window,
    .replay_dma = replay_dma,
    .replay_cpuid = replay_cpuid,
    .replay_guest_records = replay_guest_records,
    .replay_turn = replay_turn,
    .replay_finish = replay_finish,
    .cpuid_subleaves = cpuid_subleaves,
    .record_counts = record_counts,
    .record_identify_kernel = record_identify_kernel,
    .replay_check_machine = replay_check_machine,
    .replay_user_return = replay_user_return,
    .ring_header_check = ring_header_check,
    .memory_attach = memory_attach,
    .record_guest_point = record_guest_point,
    .replay_stop_drains = replay_stop_drains,
    .memory_written = memory_written,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) int kvmrr_replay_cursor(uint32_t vcpu, KvmrrReplayCursor* out) {
  // Passes call it from the vCPU thread replay runs on; the engine is not changing meanwhile.
  if (!g_replayer || !out || vcpu >= kvmrr::Replayer::kMaxVcpus) return -1;
  kvmrr::Replayer::Cursor c = g_replayer->cursor(vcpu);
  *out = KvmrrReplayCursor{c.events, c.entries, c.entry_pid};
  return 0;
}

extern "C" __attribute__((visibility("default"))) const KvmrrQemuApi* kvmrr_qemu_api(uint32_t abi_version) {
  // A QEMU built against an older header reads a prefix of today's table.
  return abi_version >= KVMRR_QEMU_ABI_MIN_VERSION && abi_version <= KVMRR_QEMU_ABI_VERSION ? &kApi : nullptr;
}
