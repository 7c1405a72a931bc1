#include "kvmrr/recorder.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "kvmrr/build_info.h"
#include "kvmrr/guest_records.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {

namespace fs = std::filesystem;

uint64_t register_digest(const KvmrrRegs& regs) {
  // FNV-1a over the little-endian bytes of the fields, in declaration order.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  for (uint64_t g : regs.gpr) mix(g, 8);
  mix(regs.rip, 8);
  mix(regs.rflags, 8);
  mix(regs.cpl, 4);
  return h;
}

std::vector<uint8_t> pack_regs(const KvmrrRegs& regs) {
  uint64_t v[19];
  for (int i = 0; i < 16; i++) v[i] = regs.gpr[i];
  v[16] = regs.rip;
  v[17] = regs.rflags;
  v[18] = regs.cpl;
  std::vector<uint8_t> out(kPackedRegsBytes);
  memcpy(out.data(), v, sizeof v);
  return out;
}

std::optional<KvmrrRegs> unpack_regs(const std::vector<uint8_t>& data) {
  if (data.size() != kPackedRegsBytes) return std::nullopt;
  uint64_t v[19];
  memcpy(v, data.data(), sizeof v);
  KvmrrRegs r{};
  for (int i = 0; i < 16; i++) r.gpr[i] = v[i];
  r.rip = v[16];
  r.rflags = v[17];
  r.cpl = static_cast<uint32_t>(v[18]);
  return r;
}

namespace {

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

std::string now_utc() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
}

RecordingMeta meta_for(const KvmrrRecordInfo& info) {
  RecordingMeta m;
  m.kvmrr_version = "kvm-rr " KVMRR_VERSION " (" KVMRR_GIT ")";
  m.qemu_version = info.qemu_version ? info.qemu_version : "";
  m.qemu_patches = qemu_patches();
  m.command_line = own_command_line();
  if (const char* c = std::getenv("KVMRR_GUEST_COMMAND")) m.guest_command = c;
  m.accel = info.accel ? info.accel : "";
  // QEMU names its accelerators "tcg" and "KVM"; the recording says "tcg" or "kvm".
  for (char& c : m.accel) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  m.cpu_model = info.cpu_model ? info.cpu_model : "";
  m.smp = info.smp;
  m.memory_mb = info.memory_mb;
  m.created = now_utc();
  if (const char* v = std::getenv("KVMRR_VMLINUX"); v && *v) {
    Vmlinux vmlinux(v);  // a wrong or stripped vmlinux fails the start, loudly
    m.kernel_version = vmlinux.banner();
    m.vmlinux_build_id = vmlinux.build_id();
  }
  m.extra["machine"] = info.machine ? info.machine : "";
  if (info.guest_ring_gpa) m.extra["guest_ring_gpa"] = info.guest_ring_gpa;
  nlohmann::json cpuid = nlohmann::json::array();
  for (size_t i = 0; i < info.cpuid_count; i++) {
    const KvmrrCpuidEntry& e = info.cpuid[i];
    cpuid.push_back({e.leaf, e.subleaf, e.eax, e.ebx, e.ecx, e.edx});
  }
  m.extra["cpuid"] = {{"columns", {"leaf", "subleaf", "eax", "ebx", "ecx", "edx"}}, {"entries", cpuid}};
  m.extra["state"] = "recording";
  return m;
}

}  // namespace

Recorder::Recorder(const KvmrrRecordInfo& info)
    : recording_(Recording::create(info.dir, meta_for(info))) {
  writer_ = recording_.create_events();
}

Recorder::~Recorder() = default;

void Recorder::append(Event e, uint32_t vcpu, const KvmrrRegs& regs) {
  e.vcpu = vcpu;
  e.rip = regs.rip;
  e.digest = register_digest(regs);
  e.data = pack_regs(regs);
  write(e);
}

// Events after a failure are dropped: the recording is already marked failed.
void Recorder::write(const Event& e) {
  std::lock_guard lock(mu_);
  if (writer_ && failure_.empty()) writer_->append(e);
}

void Recorder::log_io_in(uint32_t vcpu, const KvmrrRegs& regs, uint16_t port, uint32_t size,
                         uint64_t value) {
  Event e;
  e.type = EventType::IoIn;
  e.push_arg(port);
  e.push_arg(size);
  e.push_arg(value);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_mmio_read(uint32_t vcpu, const KvmrrRegs& regs, uint64_t gpa, uint32_t size,
                             uint64_t value) {
  Event e;
  e.type = EventType::Mmio;
  e.push_arg(gpa);
  e.push_arg(size);
  e.push_arg(value);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_interrupt(uint32_t vcpu, const KvmrrRegs& regs, uint32_t vector,
                             uint64_t sync_point) {
  Event e;
  e.type = EventType::Interrupt;
  e.push_arg(vector);
  e.push_arg(regs.cpl == 3);
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_deschedule(uint32_t vcpu, const KvmrrRegs& regs, uint64_t sync_point) {
  Event e;
  e.type = EventType::Deschedule;
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_resume(uint32_t vcpu, const KvmrrRegs& regs, uint64_t sync_point) {
  Event e;
  e.type = EventType::Resume;
  e.push_arg(sync_point);
  append(std::move(e), vcpu, regs);
}

void Recorder::log_dma(uint32_t vcpu, uint64_t sync_point, uint32_t during_io, uint64_t ram_addr,
                       const uint8_t* data, size_t len, EventType type) {
  Event e;
  e.type = type;
  e.vcpu = vcpu;
  e.push_arg(ram_addr);
  e.push_arg(len);
  e.push_arg(sync_point);
  e.push_arg(during_io);
  e.data.assign(data, data + len);
  write(e);
}

void Recorder::log_guest_records(const uint8_t* p, size_t size) {
  for (const Event& e : parse_guest_records(p, size)) write(e);
}

void Recorder::fail(const std::string& why) {
  std::lock_guard lock(mu_);
  if (failure_.empty()) failure_ = why;
}

// finish() of a failed recording: the events written so far stay readable (flush may fail
// again on a full disk; the stream then ends at its last whole frame), no END frame.

bool Recorder::failed() const {
  std::lock_guard lock(mu_);
  return !failure_.empty();
}

uint64_t Recorder::events() const {
  std::lock_guard lock(mu_);
  return writer_ ? writer_->events_written() : 0;
}

void Recorder::finish() {
  std::lock_guard lock(mu_);
  if (!writer_) return;
  if (!failure_.empty()) {
    // No END frame: readers must not take a failed recording for a whole one.
    try {
      writer_->flush();
    } catch (const RecordingError&) {
    }
    RecordingMeta m = recording_.meta();
    m.extra["state"] = "failed";
    m.extra["failure"] = failure_;
    writer_.reset();
    recording_.write_meta(m);
    throw RecordingError(RecordingError::Kind::Corrupt, recording_.dir(), "recording failed: " + failure_);
  }
  writer_->close();
  RecordingMeta m = recording_.meta();
  m.extra["state"] = "complete";
  m.extra["events"] = writer_->events_written();
  m.extra["ended"] = now_utc();
  writer_.reset();
  recording_.write_meta(m);
}

void Recorder::abort(const std::string& why) {
  std::lock_guard lock(mu_);
  writer_.reset();
  RecordingMeta m = recording_.meta();
  m.extra["state"] = "aborted";
  m.extra["abort_reason"] = why;
  try {
    recording_.write_meta(m);
  } catch (const RecordingError&) {
    // The start already failed; the caller reports that error.
  }
}

}  // namespace kvmrr
