#include "kvmrr/recording.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kvmrr {

namespace fs = std::filesystem;
using Kind = RecordingError::Kind;
using nlohmann::json;

nlohmann::json RecordingMeta::to_json() const {
  json j = extra;
  j["format_version"] = format_version;
  j["kvmrr_version"] = kvmrr_version;
  j["qemu"] = {{"version", qemu_version}, {"patches", qemu_patches}};
  j["guest_kernel"] = {{"version", kernel_version}, {"vmlinux_build_id", vmlinux_build_id}};
  j["command_line"] = command_line;
  j["guest_command"] = guest_command;
  j["accel"] = accel;
  j["cpu_model"] = cpu_model;
  j["smp"] = smp;
  j["memory_mb"] = memory_mb;
  j["created"] = created;
  if (!machine.empty()) j["machine"] = machine;
  if (guest_ring_gpa) j["guest_ring_gpa"] = guest_ring_gpa;
  if (!cpuid.empty()) {
    json rows = json::array();
    for (const CpuidEntry& e : cpuid) rows.push_back({e.leaf, e.subleaf, e.eax, e.ebx, e.ecx, e.edx});
    j["cpuid"] = {{"columns", {"leaf", "subleaf", "eax", "ebx", "ecx", "edx"}}, {"entries", rows}};
  }
  if (pmem) j["pmem"] = {{"base", pmem->base}, {"size", pmem->size}};
  if (!state.empty()) j["state"] = state;
  if (!failure.empty()) j["failure"] = failure;
  if (!abort_reason.empty()) j["abort_reason"] = abort_reason;
  if (events) j["events"] = *events;
  if (!ended.empty()) j["ended"] = ended;
  if (counters) {
    const RecordCounters& c = *counters;
    j["counters"] = {{"host_seconds", c.host_seconds},
                     {"syscalls", c.syscalls},
                     {"exceptions", c.exceptions},
                     {"user_interrupts", c.user_interrupts},
                     {"interrupts", c.interrupts},
                     {"timer_interrupts", c.timer_interrupts},
                     {"exits", c.exits},
                     {"bql_handoffs", c.bql_handoffs},
                     {"token_handoffs", c.token_handoffs}};
  }
  if (memory_digests) {
    const MemoryDigestSummary& d = *memory_digests;
    j["memory_digests"] = {{"policy", d.policy}, {"taken", d.taken}, {"seconds", d.seconds}, {"pages", d.pages},
                           {"end", d.end},       {"rules", d.rules}, {"hashed", d.hashed}};
  }
  return j;
}

std::string machine_differences(const RecordingMeta& m, const std::string& machine, uint64_t memory_mb, uint32_t smp) {
  std::string diff;
  auto differs = [&](const std::string& what) { diff += (diff.empty() ? "" : "; ") + what; };
  if (!m.machine.empty() && m.machine != machine) {
    differs(fmt::format("machine type {} (-machine {}), not {}", m.machine, m.machine, machine));
  }
  if (m.memory_mb && m.memory_mb != memory_mb) {
    differs(fmt::format("{} MiB of RAM (-m {}), not {}", m.memory_mb, m.memory_mb, memory_mb));
  }
  if (m.smp != smp) differs(fmt::format("{} vCPUs (-smp {}), not {}", m.smp, m.smp, smp));
  return diff;
}

uint64_t RecordCounters::total_exits() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : exits) n += count;
  return n;
}

namespace {

// Looks up a required field of the right JSON type, or says which one is wrong.
const json& field(const json& obj, const char* name, json::value_t type, const fs::path& file,
                  const char* where = nullptr) {
  std::string path = where ? fmt::format("{}.{}", where, name) : name;
  auto it = obj.find(name);
  if (it == obj.end()) throw RecordingError(Kind::Corrupt, file, fmt::format("missing field \"{}\"", path));
  bool ok = it->type() == type || (type == json::value_t::number_unsigned &&
                                   it->type() == json::value_t::number_integer && it->get<int64_t>() >= 0);
  if (!ok) {
    throw RecordingError(
        Kind::Corrupt, file,
        fmt::format("field \"{}\" is a {}, expected a {}", path, it->type_name(), json(type).type_name()));
  }
  return *it;
}

std::vector<std::string> string_list(const json& j, const char* name, const fs::path& file) {
  std::vector<std::string> out;
  for (const json& s : j) {
    if (!s.is_string()) throw RecordingError(Kind::Corrupt, file, fmt::format("\"{}\" holds a non-string", name));
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

RecordingMeta RecordingMeta::from_json(const json& j, const fs::path& file) {
  if (!j.is_object()) throw RecordingError(Kind::Corrupt, file, "top level is not a JSON object");
  using V = json::value_t;
  RecordingMeta m;
  // The version first: a foreign version may have other fields, and that is not corruption.
  m.format_version = field(j, "format_version", V::number_unsigned, file).get<uint32_t>();
  if (m.format_version < kOldestFormatVersion || m.format_version > kFormatVersion) {
    throw RecordingError(Kind::Version, file,
                         fmt::format("recording format version {}; this kvm-rr reads versions {} to {}",
                                     m.format_version, kOldestFormatVersion, kFormatVersion));
  }
  m.kvmrr_version = field(j, "kvmrr_version", V::string, file).get<std::string>();
  const json& q = field(j, "qemu", V::object, file);
  m.qemu_version = field(q, "version", V::string, file, "qemu").get<std::string>();
  m.qemu_patches = string_list(field(q, "patches", V::array, file, "qemu"), "qemu.patches", file);
  const json& k = field(j, "guest_kernel", V::object, file);
  m.kernel_version = field(k, "version", V::string, file, "guest_kernel").get<std::string>();
  m.vmlinux_build_id = field(k, "vmlinux_build_id", V::string, file, "guest_kernel").get<std::string>();
  m.command_line = string_list(field(j, "command_line", V::array, file), "command_line", file);
  m.guest_command = field(j, "guest_command", V::string, file).get<std::string>();
  m.accel = field(j, "accel", V::string, file).get<std::string>();
  m.cpu_model = field(j, "cpu_model", V::string, file).get<std::string>();
  m.smp = field(j, "smp", V::number_unsigned, file).get<uint32_t>();
  if (m.smp < 1) throw RecordingError(Kind::Corrupt, file, "field \"smp\" must be at least 1");
  m.memory_mb = field(j, "memory_mb", V::number_unsigned, file).get<uint64_t>();
  m.created = field(j, "created", V::string, file).get<std::string>();
  // Fields a recording may lack (older ones, or one whose recorder died early).
  auto optional_field = [&](const char* name, json::value_t type) -> const json* {
    return j.contains(name) ? &field(j, name, type, file) : nullptr;
  };
  if (auto* v = optional_field("machine", V::string)) m.machine = v->get<std::string>();
  if (auto* v = optional_field("guest_ring_gpa", V::number_unsigned)) m.guest_ring_gpa = v->get<uint64_t>();
  if (auto* t = optional_field("cpuid", V::object)) {
    for (const json& row : field(*t, "entries", V::array, file, "cpuid")) {
      if (!row.is_array() || row.size() != 6) {
        throw RecordingError(Kind::Corrupt, file, "\"cpuid.entries\" holds a row that is not 6 numbers");
      }
      CpuidEntry e;
      uint32_t* out[] = {&e.leaf, &e.subleaf, &e.eax, &e.ebx, &e.ecx, &e.edx};
      for (size_t i = 0; i < 6; i++) {
        if (!row[i].is_number_unsigned() || row[i].get<uint64_t>() > UINT32_MAX) {
          throw RecordingError(Kind::Corrupt, file, "\"cpuid.entries\" holds a value that is not a 32-bit number");
        }
        *out[i] = row[i].get<uint32_t>();
      }
      m.cpuid.push_back(e);
    }
  }
  if (auto* p = optional_field("pmem", V::object)) {
    m.pmem = PmemRegion{field(*p, "base", V::number_unsigned, file, "pmem").get<uint64_t>(),
                        field(*p, "size", V::number_unsigned, file, "pmem").get<uint64_t>()};
  }
  if (auto* v = optional_field("state", V::string)) m.state = v->get<std::string>();
  if (auto* v = optional_field("failure", V::string)) m.failure = v->get<std::string>();
  if (auto* v = optional_field("abort_reason", V::string)) m.abort_reason = v->get<std::string>();
  if (auto* v = optional_field("events", V::number_unsigned)) m.events = v->get<uint64_t>();
  if (auto* v = optional_field("ended", V::string)) m.ended = v->get<std::string>();
  if (auto* c = optional_field("counters", V::object)) {
    RecordCounters rc;
    auto count = [&](const char* name) {
      return field(*c, name, V::number_unsigned, file, "counters").get<uint64_t>();
    };
    const json& secs = c->contains("host_seconds") ? (*c)["host_seconds"] : json();
    if (!secs.is_number() || secs.get<double>() < 0) {
      throw RecordingError(Kind::Corrupt, file, "field \"counters.host_seconds\" must be a number of seconds");
    }
    rc.host_seconds = secs.get<double>();
    rc.syscalls = count("syscalls");
    rc.exceptions = count("exceptions");
    rc.user_interrupts = count("user_interrupts");
    rc.interrupts = count("interrupts");
    rc.timer_interrupts = count("timer_interrupts");
    rc.bql_handoffs = count("bql_handoffs");
    rc.token_handoffs = count("token_handoffs");
    for (const auto& [reason, v] : field(*c, "exits", V::object, file, "counters").items()) {
      if (!v.is_number_unsigned()) {
        throw RecordingError(Kind::Corrupt, file, fmt::format("field \"counters.exits.{}\" is not a count", reason));
      }
      rc.exits[reason] = v.get<uint64_t>();
    }
    m.counters = rc;
  }
  if (auto* d = optional_field("memory_digests", V::object)) {
    MemoryDigestSummary s;
    s.policy = field(*d, "policy", V::string, file, "memory_digests").get<std::string>();
    s.taken = field(*d, "taken", V::number_unsigned, file, "memory_digests").get<uint64_t>();
    const json& secs = d->contains("seconds") ? (*d)["seconds"] : json();
    if (!secs.is_number() || secs.get<double>() < 0) {
      throw RecordingError(Kind::Corrupt, file, "field \"memory_digests.seconds\" must be a number of seconds");
    }
    s.seconds = secs.get<double>();
    s.pages = field(*d, "pages", V::number_unsigned, file, "memory_digests").get<uint64_t>();
    s.end = field(*d, "end", V::string, file, "memory_digests").get<std::string>();
    // 0 (unknown rules: replay checks none) in the first format 4 recordings, which lacked it.
    if (d->contains("rules")) s.rules = field(*d, "rules", V::number_unsigned, file, "memory_digests").get<uint32_t>();
    // Absent before digests used the dirty log.
    if (d->contains("hashed"))
      s.hashed = field(*d, "hashed", V::number_unsigned, file, "memory_digests").get<uint64_t>();
    m.memory_digests = s;
  }
  m.extra = j;
  for (const char* known :
       {"format_version", "kvmrr_version", "qemu",     "guest_kernel",  "command_line", "guest_command",
        "accel",          "cpu_model",     "smp",      "memory_mb",     "created",      "machine",
        "guest_ring_gpa", "cpuid",         "pmem",     "state",         "failure",      "abort_reason",
        "events",         "ended",         "counters", "memory_digests"}) {
    m.extra.erase(known);
  }
  return m;
}

Recording Recording::open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw RecordingError(Kind::Io, dir, fs::exists(dir, ec) ? "not a directory" : "no such recording");
  }
  fs::path meta_file = dir / kMetaFile;
  std::ifstream in(meta_file, std::ios::binary);
  if (!in) throw RecordingError(Kind::Io, meta_file, fmt::format("cannot open: {}", strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte position; say it as an offset of meta.json.
    std::string what = e.what();
    if (auto p = what.find("]: "); p != std::string::npos) what = what.substr(p + 3);
    throw RecordingError(Kind::Corrupt, meta_file, fmt::format("invalid JSON: {}", what), e.byte > 0 ? e.byte - 1 : 0);
  }
  RecordingMeta meta = RecordingMeta::from_json(j, meta_file);
  for (const char* f : {kSnapshotFile, kEventsFile}) {
    if (!fs::is_regular_file(dir / f, ec)) {
      throw RecordingError(Kind::Io, dir / f, "missing (every recording has a snapshot and an event stream)");
    }
  }
  return Recording(dir, std::move(meta));
}

Recording Recording::create(const fs::path& dir, const RecordingMeta& meta) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
    throw RecordingError(Kind::Io, dir, "already exists and is not an empty directory");
  }
  fs::create_directories(dir, ec);
  if (ec) throw RecordingError(Kind::Io, dir, fmt::format("cannot create: {}", ec.message()));
  Recording r(dir, meta);
  r.write_meta(meta);
  return r;
}

void Recording::write_meta(const RecordingMeta& meta) {
  write_file_atomically(meta_path(), meta.to_json().dump(2) + "\n");
  meta_ = meta;
}

void write_file_atomically(const fs::path& path, std::string_view text) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw RecordingError(Kind::Io, tmp, fmt::format("cannot create: {}", strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw RecordingError(Kind::Io, tmp, fmt::format("write failed: {}", strerror(err)));
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw RecordingError(Kind::Io, tmp, fmt::format("cannot flush: {}", strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw RecordingError(Kind::Io, path, fmt::format("cannot replace: {}", strerror(err)));
  }
}

std::unique_ptr<TraceReader> Recording::open_events() const { return std::make_unique<TraceReader>(events_path()); }

std::unique_ptr<TraceWriter> Recording::create_events(size_t frame_bytes) const {
  return std::make_unique<TraceWriter>(events_path(), frame_bytes);
}

}  // namespace kvmrr
