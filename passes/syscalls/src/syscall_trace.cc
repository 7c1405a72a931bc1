#include "kvmrr/syscall_trace.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kvmrr/guest-abi.h"
#include "kvmrr/syscall_table.h"

namespace kvmrr {
namespace {

// struct pt_regs positions of the user register file an entry carries (kPtRegsNames).
enum : size_t { kR10 = 7, kR9 = 8, kR8 = 9, kDx = 12, kSi = 13, kDi = 14 };
constexpr std::array<size_t, 6> kSyscallArgRegs = {kDi, kSi, kDx, kR10, kR8, kR9};

// Entries stay open (their user reads still attach) for this many events at most: the
// kernel reads a system call's arguments at its start, and an entry held open forever (a
// vCPU that never enters again) would hold back every later line.
constexpr uint64_t kHorizon = 1 << 16;
constexpr size_t kMaxReadBytes = 4096;

std::string flag_names(uint64_t value, std::initializer_list<std::pair<uint64_t, const char*>> bits,
                       std::string first = "") {
  std::string s = std::move(first);
  for (const auto& [bit, name] : bits) {
    if (bit && (value & bit) == bit) {
      s += (s.empty() ? "" : "|") + std::string(name);
      value &= ~bit;
    }
  }
  if (value || s.empty()) s += (s.empty() ? "" : "|") + fmt::format("{:#x}", value);
  return s;
}

bool signed_type(std::string_view t) {
  for (std::string_view s : {"int", "long", "pid_t", "off_t", "loff_t", "clockid_t", "timer_t", "key_serial_t", "key_t",
                             "mqd_t", "rwf_t", "qid_t"}) {
    if (t == s) return true;
  }
  return false;
}

bool thirty_two_bits(std::string_view t) {
  for (std::string_view s :
       {"int", "unsigned int", "unsigned", "u32", "__u32", "uid_t", "gid_t", "pid_t", "umode_t", "clockid_t", "timer_t",
        "key_serial_t", "mqd_t", "qid_t", "rwf_t", "key_t", "old_uid_t", "old_gid_t", "__s32"}) {
    if (t == s) return true;
  }
  return false;
}

// unsigned long arguments that hold addresses (the others are sizes, counts, offsets).
bool address_name(std::string_view n) {
  for (std::string_view a : {"addr", "start", "brk", "new_addr", "newsp", "tls", "arg2", "arg3", "arg4", "arg5"}) {
    if (n == a) return true;
  }
  return n.size() > 4 && (n.substr(n.size() - 4) == "addr" || n.substr(n.size() - 3) == "ptr");
}

std::string format_return(std::string_view call, uint64_t rax) {
  int64_t v = static_cast<int64_t>(rax);
  if (v < 0 && v >= -4095) {
    std::string_view name = errno_name(uint64_t(-v));
    return name.empty() ? fmt::format("-1 errno {}", -v) : fmt::format("-1 {}", name);
  }
  if (call == "mmap" || call == "mremap" || call == "brk" || call == "shmat") return fmt::format("{:#x}", rax);
  return fmt::format("{}", v);
}

}  // namespace

std::string decode_open_flags(uint64_t flags) {
  static const char* const kAccess[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  return flag_names(flags & ~3ull,
                    {{00000100, "O_CREAT"},
                     {00000200, "O_EXCL"},
                     {00000400, "O_NOCTTY"},
                     {00001000, "O_TRUNC"},
                     {00002000, "O_APPEND"},
                     {00004000, "O_NONBLOCK"},
                     {04010000, "O_SYNC"},
                     {00010000, "O_DSYNC"},
                     {00020000, "O_ASYNC"},
                     {00040000, "O_DIRECT"},
                     {00100000, "O_LARGEFILE"},
                     {020200000, "O_TMPFILE"},
                     {00200000, "O_DIRECTORY"},
                     {00400000, "O_NOFOLLOW"},
                     {01000000, "O_NOATIME"},
                     {02000000, "O_CLOEXEC"},
                     {010000000, "O_PATH"}},
                    kAccess[flags & 3]);
}

std::string decode_mmap_prot(uint64_t prot) {
  if (prot == 0) return "PROT_NONE";
  return flag_names(prot, {{1, "PROT_READ"},
                           {2, "PROT_WRITE"},
                           {4, "PROT_EXEC"},
                           {0x01000000, "PROT_GROWSDOWN"},
                           {0x02000000, "PROT_GROWSUP"}});
}

std::string decode_mmap_flags(uint64_t flags) {
  static const char* const kType[] = {"", "MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"};
  uint64_t type = flags & 0xf;
  std::string first = type < 4 ? kType[type] : fmt::format("{:#x}", type);
  std::string rest = flag_names(flags & ~0xfull, {{0x10, "MAP_FIXED"},
                                                  {0x20, "MAP_ANONYMOUS"},
                                                  {0x40, "MAP_32BIT"},
                                                  {0x100, "MAP_GROWSDOWN"},
                                                  {0x800, "MAP_DENYWRITE"},
                                                  {0x1000, "MAP_EXECUTABLE"},
                                                  {0x2000, "MAP_LOCKED"},
                                                  {0x4000, "MAP_NORESERVE"},
                                                  {0x8000, "MAP_POPULATE"},
                                                  {0x10000, "MAP_NONBLOCK"},
                                                  {0x20000, "MAP_STACK"},
                                                  {0x40000, "MAP_HUGETLB"},
                                                  {0x80000, "MAP_SYNC"},
                                                  {0x100000, "MAP_FIXED_NOREPLACE"}});
  if (rest == "0x0") return first.empty() ? "0" : first;
  return first.empty() ? rest : first + "|" + rest;
}

std::string quote_bytes(const std::vector<uint8_t>& bytes, size_t max, bool stop_at_nul) {
  std::string s = "\"";
  size_t n = 0;
  for (; n < bytes.size() && n < max; n++) {
    uint8_t c = bytes[n];
    if (stop_at_nul && c == 0) break;
    switch (c) {
      case '\n': s += "\\n"; break;
      case '\t': s += "\\t"; break;
      case '\r': s += "\\r"; break;
      case '"': s += "\\\""; break;
      case '\\': s += "\\\\"; break;
      default: s += (c >= 0x20 && c < 0x7f) ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    }
  }
  s += "\"";
  bool more = n < bytes.size() && !(stop_at_nul && bytes[n] == 0);
  if (more) s += "...";
  return s;
}

std::string TracedEntry::call_text() const {
  std::string s = name + "(";
  for (size_t i = 0; i < args.size(); i++) s += (i ? ", " : "") + args[i];
  s += ")";
  if (kind == Kind::Syscall) s += " = " + result;
  if (!note.empty()) s += " (" + note + ")";
  return s;
}

std::string TracedEntry::json() const {
  nlohmann::json j;
  j["index"] = index;
  j["vcpu"] = vcpu;
  j["pid"] = pid ? nlohmann::json(*pid) : nlohmann::json();
  j["kind"] = kind == Kind::Syscall ? "syscall" : kind == Kind::Exception ? "exception" : "interrupt";
  j["name"] = name;
  j["number"] = number;
  j["args"] = args;
  j["raw_args"] = raw_args;
  j["arg_types"] = arg_types;
  j["user_rip"] = user_rip;
  if (kind == Kind::Syscall) {
    j["return"] = rax ? nlohmann::json(static_cast<int64_t>(*rax)) : nlohmann::json();
    j["result"] = result;
    if (resumed_at) j["resumed_at"] = *resumed_at;
  }
  if (!note.empty()) j["note"] = note;
  return j.dump();
}

SyscallTracer::SyscallTracer(const UserReturns* returns, Emit emit) : emit_(std::move(emit)) {
  if (returns) {
    have_returns_ = true;
    returns_through_ = returns->events_replayed;
    returns_.reserve(returns->returns.size());
    for (const UserReturn& r : returns->returns) returns_[r.entry_index] = r;
  }
}

void SyscallTracer::add(const Event& e, uint64_t index) {
  while (!open_.empty() && open_.begin()->first + kHorizon < index) {
    auto& [oldest, o] = *open_.begin();
    if (std::optional<uint64_t> pid = entry_pid(o.entry);
        pid && unreturned_.count(*pid) && unreturned_[*pid] == oldest) {
      unreturned_.erase(*pid);  // asleep that long, or killed without an exit call
    }
    close(oldest);
  }
  if (is_user_entry(e)) {
    if (e.vcpu >= current_.size()) current_.resize(e.vcpu + 1);
    open_[index] = Open{e, {}, false};
    current_[e.vcpu] = index;
    // The task's previous entry has returned (it ran user code since).
    std::optional<uint64_t> pid = entry_pid(e);
    if (pid) {
      auto prev = unreturned_.find(*pid);
      uint64_t prev_index = prev == unreturned_.end() ? UINT64_MAX : prev->second;
      unreturned_[*pid] = index;
      if (prev_index != UINT64_MAX) close(prev_index);
      // exit and exit_group never return, and read nothing the trace shows.
      if (e.type == EventType::Syscall && (e.args[arg::kVector] == 60 || e.args[arg::kVector] == 231)) {
        unreturned_.erase(*pid);
        close(index);
      }
    } else {
      close(index);  // a recording without pids: no telling which call a later read is for
    }
    return;
  }
  if (e.type != EventType::Cfu) return;
  uint64_t uaddr = e.args[arg::kUaddr];
  // A read at a pointer argument of the call running on this vCPU, most often; else of a
  // call that slept first (a pipe write that waited for room), matched by address.
  if (e.vcpu < current_.size() && current_[e.vcpu]) {
    auto it = open_.find(*current_[e.vcpu]);
    if (it != open_.end() && !it->second.closed && attach(it->second, uaddr, e, true)) return;
    if (it != open_.end() && !it->second.closed && attach(it->second, uaddr, e, false)) return;
  }
  // Newest first: of two sleeping calls with the same buffer address, the later one.
  std::vector<uint64_t> waiting;
  for (const auto& [pid, i] : unreturned_) waiting.push_back(i);
  std::sort(waiting.rbegin(), waiting.rend());
  for (bool continuation : {true, false}) {
    for (uint64_t i : waiting) {
      auto it = open_.find(i);
      if (it != open_.end() && !it->second.closed && attach(it->second, uaddr, e, continuation)) return;
    }
  }
}

// Adds e's bytes to o when uaddr continues one of o's reads (continuation) or is one of
// o's pointer arguments not read yet (!continuation). False when it is neither.
bool SyscallTracer::attach(Open& o, uint64_t uaddr, const Event& e, bool continuation) {
  if (o.entry.type != EventType::Syscall || o.entry.data.size() != 21 * 8) return false;
  if (continuation) {
    for (Read& r : o.reads) {  // a read the recorder logged in chunks
      if (r.uaddr + r.bytes.size() == uaddr && r.bytes.size() < kMaxReadBytes) {
        r.bytes.insert(r.bytes.end(), e.data.begin(), e.data.end());
        return true;
      }
    }
    return false;
  }
  for (const Read& r : o.reads) {
    if (r.uaddr == uaddr) return false;  // the first read of it is the argument
  }
  // Only arguments the call reads from (const pointers): a reader's and a writer's buffers
  // may have one address in two processes (stress-ng's pipe pair does).
  const SyscallInfo* info = syscall_info(o.entry.args[arg::kVector]);
  for (size_t i = 0; i < kSyscallArgRegs.size(); i++) {
    if (info && info->nargs >= 0) {
      std::string_view type = int(i) < info->nargs ? info->args[i].type : "";
      if (type.find("const") == std::string_view::npos || type.find("__user") == std::string_view::npos) continue;
    }
    uint64_t v;
    memcpy(&v, o.entry.data.data() + kSyscallArgRegs[i] * 8, 8);
    if (v == uaddr && v != 0) {
      o.reads.push_back(Read{uaddr, {e.data.begin(), e.data.begin() + std::min(e.data.size(), kMaxReadBytes)}});
      return true;
    }
  }
  return false;
}

void SyscallTracer::close(uint64_t index) {
  auto it = open_.find(index);
  if (it != open_.end()) it->second.closed = true;
  flush();
}

void SyscallTracer::flush() {
  while (!open_.empty() && (open_.begin()->second.closed || finished_)) {
    emit_(decode(open_.begin()->first, open_.begin()->second));
    open_.erase(open_.begin());
  }
}

void SyscallTracer::finish() {
  finished_ = true;
  flush();
}

TracedEntry SyscallTracer::decode(uint64_t index, const Open& o) const {
  const Event& e = o.entry;
  TracedEntry t;
  t.index = index;
  t.vcpu = e.vcpu;
  t.pid = entry_pid(e);
  t.number = e.args[arg::kVector];
  t.user_rip = e.rip;
  std::array<uint64_t, 21> regs{};
  bool have_regs = e.data.size() == sizeof regs;
  if (have_regs) memcpy(regs.data(), e.data.data(), sizeof regs);

  if (e.type == EventType::Exception) {
    t.kind = TracedEntry::Kind::Exception;
    std::string_view n = exception_name(t.number);
    t.name = n.empty() ? fmt::format("exception_{}", t.number) : std::string(n);
    if (t.number == 14) t.args.push_back(fmt::format("addr={:#x}", e.args[arg::kCr2]));
    if (e.args[arg::kErrorCode] || t.number == 14)
      t.args.push_back(fmt::format("error={:#x}", e.args[arg::kErrorCode]));
    t.args.push_back(fmt::format("ip={:#x}", e.rip));
    return t;
  }
  if (e.type == EventType::Interrupt) {
    t.kind = TracedEntry::Kind::Interrupt;
    t.name = "interrupt";
    std::string_view n = interrupt_vector_name(t.number);
    t.args.push_back(fmt::format("vector={:#x}{}", t.number, n.empty() ? "" : " " + std::string(n)));
    t.args.push_back(fmt::format("ip={:#x}", e.rip));
    return t;
  }

  t.kind = TracedEntry::Kind::Syscall;
  const SyscallInfo* info = syscall_info(t.number);
  t.name = info ? std::string(info->name) : fmt::format("syscall_{}", t.number);
  int nargs = info && info->nargs >= 0 ? info->nargs : 6;
  for (int i = 0; i < nargs && have_regs; i++) {
    uint64_t v = regs[kSyscallArgRegs[i]];
    t.raw_args.push_back(v);
    std::string_view type = info && info->nargs >= 0 ? info->args[i].type : "unsigned long";
    std::string_view name = info && info->nargs >= 0 ? info->args[i].name : "";
    t.arg_types.emplace_back(type);
    if (thirty_two_bits(type)) v &= 0xffffffffull;
    std::string a;
    if (type.find("__user") != std::string_view::npos && type.find('*') != std::string_view::npos) {
      if (v == 0) {
        a = "NULL";
      } else if (type.find("char") != std::string_view::npos && type.find("*const") == std::string_view::npos) {
        for (const Read& r : o.reads) {
          if (r.uaddr != v) continue;
          bool is_string = type.find("const char") != std::string_view::npos &&
                           (name.find("name") != std::string_view::npos || name.find("path") != std::string_view::npos);
          // A buffer shows as many bytes as the call names (write's count), a path up to its NUL.
          size_t len = r.bytes.size();
          if (!is_string && i + 1 < nargs) len = std::min<size_t>(len, regs[kSyscallArgRegs[i + 1]]);
          a = quote_bytes({r.bytes.begin(), r.bytes.begin() + len}, is_string ? 256 : 32, is_string);
        }
      }
      if (a.empty()) a = fmt::format("{:#x}", v);
    } else if ((name == "dfd" || name == "olddfd" || name == "newdfd") && int32_t(v) == -100) {
      a = "AT_FDCWD";
    } else if (name == "flags" && (t.name == "open" || t.name == "openat")) {
      a = decode_open_flags(v);
    } else if (name == "mode" && type == "umode_t") {
      a = fmt::format("{:#o}", v);
    } else if (name == "prot" && (t.name == "mmap" || t.name == "mprotect" || t.name == "pkey_mprotect")) {
      a = decode_mmap_prot(v);
    } else if (name == "flags" && t.name == "mmap") {
      a = decode_mmap_flags(v);
    } else if (name.find("flag") != std::string_view::npos) {
      a = v ? fmt::format("{:#x}", v) : "0";  // flags not decoded by name: their bits show in hex
    } else if (signed_type(type)) {
      a = fmt::format("{}", type == "int" || thirty_two_bits(type) ? int64_t(int32_t(v)) : int64_t(v));
    } else if (t.name == "mmap" && name == "fd") {
      a = fmt::format("{}", int32_t(v));
    } else if (type == "unsigned long" && address_name(name)) {
      a = v ? fmt::format("{:#x}", v) : "NULL";
    } else {
      a = fmt::format("{}", v);
    }
    t.args.push_back(std::move(a));
  }
  // As strace: open's mode only when it creates.
  if ((t.name == "open" || t.name == "openat") && t.raw_args.size() == size_t(nargs) && nargs >= 3) {
    uint64_t flags = t.raw_args[nargs - 2];
    if (!(flags & (00000100 | 020000000))) t.args.pop_back();
  }

  t.result = "?";
  if (!have_returns_) {
    t.note = "no replay yet";
    return t;
  }
  auto r = returns_.find(t.index);
  if (r == returns_.end()) {
    if (t.index >= returns_through_) {
      t.note = "not replayed";
    } else if (t.name != "exit" && t.name != "exit_group") {
      t.note = "unfinished: the task did not enter the kernel again";
    }
    return t;
  }
  t.rax = r->second.rax;
  if (r->second.rip == e.rip) {
    t.result = format_return(t.name, *t.rax);
    return t;
  }
  t.resumed_at = r->second.rip;
  if (r->second.rip == e.rip - 2) {
    t.note = "interrupted, restarted";
  } else if ((t.name == "execve" || t.name == "execveat") && *t.rax == 0) {
    t.result = "0";
  } else if (t.name == "rt_sigreturn") {
    t.result = format_return(t.name, *t.rax);
  } else {
    // Signal delivery set RAX for the handler; what the call returned is in the signal
    // frame, and the task's rt_sigreturn shows it (or the call restarts).
    t.note = fmt::format("a signal handler at {:#x} ran first; rt_sigreturn gives the value back", r->second.rip);
  }
  return t;
}

}  // namespace kvmrr
