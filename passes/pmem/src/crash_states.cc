#include "kvmrr/crash_states.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <unordered_set>

namespace kvmrr::pmem {

namespace {

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// An all-zero line hashes to 0, so an image's hash (the XOR over its lines) does not
// depend on how much of it is zero.
uint64_t hash_line(uint64_t offset, const uint8_t* p) {
  uint64_t w[kLineSize / 8];
  memcpy(w, p, sizeof w);
  bool zero = true;
  for (uint64_t v : w) zero = zero && v == 0;
  if (zero) return 0;
  uint64_t h = mix(offset + 0x9e3779b97f4a7c15ULL);
  for (uint64_t v : w) h = mix(h ^ v) + 0x9e3779b97f4a7c15ULL;
  return h | 1;
}

uint64_t hash_image(const std::vector<uint8_t>& img) {
  uint64_t h = 0;
  for (uint64_t off = 0; off < img.size(); off += kLineSize) h ^= hash_line(off, img.data() + off);
  return h;
}

}  // namespace

PmemModel::PmemModel(const FileHeader& h, std::vector<uint8_t> initial) : header_(h), volatile_(std::move(initial)) {
  volatile_.resize(h.size, 0);
  persisted_ = volatile_;
  vhash_ = phash_ = hash_image(volatile_);
}

uint64_t PmemModel::line_hash(uint64_t offset, const std::vector<uint8_t>& image) const {
  return hash_line(offset, image.data() + offset);
}

void PmemModel::apply(const Record& r, size_t index, size_t boundary) {
  switch (r.h.type) {
    case RecordType::Store: {
      uint64_t off = r.h.addr - header_.base;
      uint64_t first = off & ~(kLineSize - 1), last = (off + r.h.size - 1) & ~(kLineSize - 1);
      for (uint64_t l = first; l <= last; l += kLineSize) vhash_ ^= line_hash(l, volatile_);
      memcpy(volatile_.data() + off, r.data.data(), r.h.size);
      for (uint64_t l = first; l <= last; l += kLineSize) {
        vhash_ ^= line_hash(l, volatile_);
        Line& line = in_flight_[l];
        // A non-temporal store goes around the cache: its line waits only for a fence.
        line.flushed = (r.h.flags & kStoreNonTemporal) != 0;
        line.stores.push_back({index, boundary});
      }
      break;
    }
    case RecordType::Flush:
      if (FlushKind(r.h.kind) == FlushKind::Wbinvd) {
        for (auto& [off, line] : in_flight_) line.flushed = true;
      } else if (auto it = in_flight_.find((r.h.addr - header_.base) & ~(kLineSize - 1)); it != in_flight_.end()) {
        it->second.flushed = true;
      }
      break;
    case RecordType::Fence: fence(); break;
    default: break;
  }
}

void PmemModel::fence() {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (!it->second.flushed) {
      ++it;
      continue;
    }
    uint64_t l = it->first;
    phash_ ^= line_hash(l, persisted_);
    memcpy(persisted_.data() + l, volatile_.data() + l, kLineSize);
    phash_ ^= line_hash(l, persisted_);
    it = in_flight_.erase(it);
  }
}

std::vector<uint64_t> PmemModel::changed_in_flight() const {
  std::vector<uint64_t> out;
  for (const auto& [l, line] : in_flight_) {
    if (memcmp(volatile_.data() + l, persisted_.data() + l, kLineSize) != 0) out.push_back(l);
  }
  return out;
}

DroppedLine PmemModel::describe(uint64_t offset) const {
  DroppedLine d{offset, false, {}};
  if (auto it = in_flight_.find(offset); it != in_flight_.end()) {
    d.flushed = it->second.flushed;
    d.stores = it->second.stores;
  }
  return d;
}

namespace {

struct Candidate {
  size_t fence_record, before;
  std::vector<uint64_t> included, dropped;
  uint64_t hash;
  size_t in_flight;
};

bool is_boundary(const Record& r) { return r.h.type == RecordType::Syscall || r.h.type == RecordType::Checkpoint; }

}  // namespace

Plan plan_crash_states(const Log& log, const std::vector<uint8_t>& initial, const PlanOptions& o) {
  Plan plan;
  PmemModel model(log.header, initial);
  plan.boundaries.push_back({0, Boundary::Kind::Start, 0, model.volatile_hash()});

  // States start at the chosen checkpoint (the first one by default).
  size_t start = 0;
  bool found = !o.from_checkpoint.has_value();
  for (size_t i = 0; i < log.records.size(); i++) {
    const Record& r = log.records[i];
    if (r.h.type == RecordType::Checkpoint && (!o.from_checkpoint || r.h.addr == *o.from_checkpoint)) {
      start = i;
      found = true;
      break;
    }
  }
  if (!found) start = log.records.size();  // asked for a checkpoint the guest never made
  plan.first_record = start;

  std::mt19937_64 rng(o.seed);
  std::unordered_set<uint64_t> seen;
  std::vector<Candidate> kept;
  const size_t kMaxPerFence = 4096;

  for (size_t i = 0; i < log.records.size(); i++) {
    const Record& r = log.records[i];
    if (is_boundary(r)) {
      Boundary b{i, r.h.type == RecordType::Syscall ? Boundary::Kind::Syscall : Boundary::Kind::Checkpoint, r.h.addr,
                 model.volatile_hash()};
      plan.boundaries.push_back(b);
    }
    if (r.h.type == RecordType::Fence && i >= start) {
      std::vector<uint64_t> lines = model.changed_in_flight();
      if (!lines.empty()) {
        plan.fences_with_lines++;
        // The device writes aligned units of o.atomic bytes whole: a unit's in-flight lines
        // reach pmem together or not at all.
        std::vector<std::vector<uint64_t>> units;
        for (uint64_t l : lines) {
          if (units.empty() || units.back().front() / o.atomic != l / o.atomic) units.emplace_back();
          units.back().push_back(l);
        }
        const size_t m = units.size();
        std::set<std::vector<size_t>> subsets;  // indices into units
        // Every subset of up to k units (k = 0 is the persisted image alone).
        std::vector<size_t> pick;
        std::function<void(size_t)> all_up_to_k = [&](size_t from) {
          if (subsets.size() >= kMaxPerFence) return;
          subsets.insert(pick);
          if (pick.size() == o.k) return;
          for (size_t j = from; j < m; j++) {
            pick.push_back(j);
            all_up_to_k(j + 1);
            pick.pop_back();
          }
        };
        all_up_to_k(0);
        // Larger subsets at random; the whole in-flight set is always one of them.
        if (m > o.k && o.samples > 0) {
          std::vector<size_t> all(m);
          for (size_t j = 0; j < m; j++) all[j] = j;
          subsets.insert(all);
          for (unsigned s = 1; s < o.samples; s++) {
            std::shuffle(all.begin(), all.end(), rng);
            size_t n = o.k + 1 + rng() % (m - o.k);
            std::vector<size_t> sub(all.begin(), all.begin() + long(n));
            std::sort(sub.begin(), sub.end());
            subsets.insert(sub);
          }
        }
        for (const auto& sub : subsets) {
          plan.candidates++;
          Candidate c{i, plan.boundaries.size() - 1, {}, {}, model.persisted_hash(), lines.size()};
          std::vector<bool> in(m, false);
          for (size_t j : sub) in[j] = true;
          for (size_t j = 0; j < m; j++) {
            for (uint64_t l : units[j]) {
              if (in[j]) {
                c.included.push_back(l);
                c.hash ^= model.line_hash(l, model.persisted_image()) ^ model.line_hash(l, model.volatile_image());
              } else {
                c.dropped.push_back(l);
              }
            }
          }
          // The same image is one state per syscall interval: what it must equal differs.
          if (seen.insert(mix(c.hash ^ mix(c.before + 1))).second) kept.push_back(std::move(c));
        }
      }
    }
    model.apply(r, i, plan.boundaries.size() - 1);
  }
  plan.boundaries.push_back({log.records.size(), Boundary::Kind::End, 0, model.volatile_hash()});
  plan.distinct = kept.size();

  if (kept.size() > o.max_states) {
    std::vector<size_t> idx(kept.size());
    for (size_t j = 0; j < idx.size(); j++) idx[j] = j;
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(o.max_states);
    std::sort(idx.begin(), idx.end());
    std::vector<Candidate> sampled;
    for (size_t j : idx) sampled.push_back(std::move(kept[j]));
    kept = std::move(sampled);
  }
  for (Candidate& c : kept) {
    CrashState s;
    s.fence_record = c.fence_record;
    s.before = c.before;
    s.after = c.before + 1;
    s.included = std::move(c.included);
    s.dropped = std::move(c.dropped);
    s.hash = c.hash;
    s.in_flight = c.in_flight;
    plan.states.push_back(std::move(s));
  }
  return plan;
}

void materialize(const Log& log, const std::vector<uint8_t>& initial, const Plan& plan,
                 const std::function<void(const ImageRequest&, const std::vector<uint8_t>&, const PmemModel&)>& sink) {
  std::vector<bool> wanted(plan.boundaries.size(), false);
  for (const CrashState& s : plan.states) wanted[s.before] = wanted[s.after] = true;
  PmemModel model(log.header, initial);
  size_t b = 0, s = 0;
  auto boundaries_up_to = [&](size_t record) {
    while (b < plan.boundaries.size() && plan.boundaries[b].record <= record &&
           (plan.boundaries[b].kind != Boundary::Kind::End || record == log.records.size())) {
      if (wanted[b]) sink({ImageRequest::Kind::Boundary, b}, model.volatile_image(), model);
      b++;
    }
  };
  std::vector<uint8_t> image;
  for (size_t i = 0; i <= log.records.size(); i++) {
    boundaries_up_to(i);
    while (s < plan.states.size() && plan.states[s].fence_record == i) {
      image = model.persisted_image();
      for (uint64_t l : plan.states[s].included) {
        memcpy(image.data() + l, model.volatile_image().data() + l, kLineSize);
      }
      sink({ImageRequest::Kind::State, s}, image, model);
      s++;
    }
    if (i < log.records.size()) model.apply(log.records[i], i, b - 1);
  }
}

}  // namespace kvmrr::pmem
