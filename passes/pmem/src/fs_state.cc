#include "kvmrr/fs_state.h"

#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace kvmrr::pmem {

std::vector<FsState> parse_probe_output(const std::string& text, size_t count) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line.rfind("KVMRR-PMEM-PROBE ", 0) != 0) {
    throw std::runtime_error("the checker guest wrote no results (no KVMRR-PMEM-PROBE header)");
  }
  size_t bytes = std::stoull(line.substr(17));
  std::string body = text.substr(line.size() + 1, bytes);
  if (body.size() < bytes) throw std::runtime_error("the checker guest's results are cut short");
  std::vector<FsState> out(count);
  std::istringstream b(body);
  FsState* cur = nullptr;
  auto rest = [](const std::string& l, size_t n) { return l.size() > n ? l.substr(n) : std::string(); };
  while (std::getline(b, line)) {
    if (line.rfind("@@state ", 0) == 0) {
      size_t i = std::stoull(line.substr(8));
      if (i >= count) throw std::runtime_error(fmt::format("result for image {} of {}", i, count));
      cur = &out[i];
      cur->probed = true;
      continue;
    }
    if (!cur) throw std::runtime_error("result line outside an image: " + line);
    if (line == "@@mount ok") {
      cur->mounted = true;
    } else if (line.rfind("@@mount failed", 0) == 0) {
      cur->mount_error = rest(line, 15);
    } else if (line.rfind("@@fsck ", 0) == 0) {
      std::istringstream f(line.substr(7));
      f >> cur->fsck_status;
      std::getline(f, cur->fsck_tail);
      if (!cur->fsck_tail.empty() && cur->fsck_tail[0] == ' ') cur->fsck_tail.erase(0, 1);
    } else if (line.rfind("@@end", 0) == 0) {
      cur = nullptr;
    } else if (line.rfind("@@", 0) == 0) {
      cur->problem += (cur->problem.empty() ? "" : "; ") + line.substr(2);
    } else if (line.rfind("F ", 0) == 0) {
      std::istringstream f(line.substr(2));
      FsEntry e;
      std::string mode, hash, path;
      f >> e.type >> mode >> e.nlink >> e.size >> hash;
      std::getline(f, path);
      if (!f.eof() && path.empty()) throw std::runtime_error("bad dump line: " + line);
      e.mode = uint32_t(std::stoul(mode, nullptr, 8));
      e.hash = std::stoull(hash, nullptr, 16);
      cur->files[path.substr(1)] = e;
    } else if (line.rfind("C ", 0) == 0) {
      std::istringstream f(line.substr(2));
      size_t idx;
      std::string hash, path;
      f >> idx >> hash;
      std::getline(f, path);
      auto& chunks = cur->files[path.substr(1)].chunks;
      if (chunks.size() != idx) throw std::runtime_error("chunk lines out of order: " + line);
      chunks.push_back(std::stoull(hash, nullptr, 16));
    } else if (!line.empty()) {
      throw std::runtime_error("unexpected result line: " + line);
    }
  }
  return out;
}

namespace {

bool torn_ok(const FsEntry& got, const FsEntry& want, const FsEntry& other) {
  if (got.type != 'f' || got.size != want.size || got.chunks.size() != want.chunks.size()) return false;
  if (got.chunks.empty() && got.size > 0) return false;  // too large to have chunks
  for (size_t i = 0; i < got.chunks.size(); i++) {
    bool mine = got.chunks[i] == want.chunks[i];
    bool theirs = i < other.chunks.size() && got.chunks[i] == other.chunks[i];
    if (!mine && !theirs) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> fs_diff(const FsState& got, const FsState& want, const FsState* torn_from) {
  std::vector<std::string> d;
  for (const auto& [path, w] : want.files) {
    auto it = got.files.find(path);
    if (it == got.files.end()) {
      d.push_back(fmt::format("missing {} ({})", path, w.type == 'd' ? "directory" : "file"));
      continue;
    }
    const FsEntry& g = it->second;
    if (g.type != w.type) {
      d.push_back(fmt::format("type {}: {} instead of {}", path, g.type, w.type));
      continue;
    }
    if (g.mode != w.mode) d.push_back(fmt::format("mode {}: {:o} instead of {:o}", path, g.mode, w.mode));
    if (g.nlink != w.nlink) d.push_back(fmt::format("nlink {}: {} instead of {}", path, g.nlink, w.nlink));
    if (g.size != w.size) d.push_back(fmt::format("size {}: {} instead of {}", path, g.size, w.size));
    if (g.hash != w.hash && g.size == w.size) {
      const FsEntry* other = nullptr;
      if (torn_from) {
        auto o = torn_from->files.find(path);
        if (o != torn_from->files.end() && o->second.hash != w.hash) other = &o->second;
      }
      if (!other || !torn_ok(g, w, *other)) {
        size_t first = 0;
        while (first < g.chunks.size() && first < w.chunks.size() && g.chunks[first] == w.chunks[first]) first++;
        d.push_back(g.chunks.empty() ? fmt::format("content {}", path)
                                     : fmt::format("content {}: differs from byte {}", path, first * 64));
      }
    }
  }
  for (const auto& [path, g] : got.files) {
    if (!want.files.count(path))
      d.push_back(fmt::format("unexpected {} ({})", path, g.type == 'd' ? "directory" : "file"));
  }
  return d;
}

Verdict judge(const FsState& crash, const FsState& before, const FsState& after) {
  Verdict v;
  if (!crash.probed) {
    v.why = "the checker guest did not report on this state";
    return v;
  }
  if (!crash.problem.empty()) {
    v.why = "checking failed: " + crash.problem;
    return v;
  }
  if (!crash.mounted) {
    v.why = "does not mount: " + crash.mount_error;
    return v;
  }
  if (crash.fsck_status != 0) {
    v.why = fmt::format("fsck exit {}: {}", crash.fsck_status, crash.fsck_tail);
    return v;
  }
  struct Side {
    const char* name;
    const FsState& s;
    const FsState& other;
  };
  std::vector<std::string> best;
  bool have_best = false;
  // An exact match first, so the verdict names the state it really equals; then with the
  // torn-write allowance.
  for (bool torn : {false, true}) {
    for (const Side& side : {Side{"before", before, after}, Side{"after", after, before}}) {
      if (!side.s.mounted) continue;
      auto d = fs_diff(crash, side.s, torn && side.other.mounted ? &side.other : nullptr);
      if (d.empty()) {
        v.ok = true;
        v.matched = torn ? std::string(side.name) + " (torn write)" : side.name;
        return v;
      }
      if (torn && (!have_best || d.size() < best.size())) {
        best = d;
        v.diff_against = side.name;
        have_best = true;
      }
    }
  }
  if (!have_best) {
    v.why = "neither the state before nor the one after the syscall mounts";
    return v;
  }
  v.diff = best;
  v.why = fmt::format("equals neither the state before nor after the syscall ({} difference{} from {})", best.size(),
                      best.size() == 1 ? "" : "s", v.diff_against);
  return v;
}

}  // namespace kvmrr::pmem
