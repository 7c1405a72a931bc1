#include <cstring>

#include <gtest/gtest.h>

#include "kvmrr/crash_states.h"

namespace kvmrr::pmem {
namespace {

constexpr uint64_t kBase = 0x10000;

struct LogBuilder {
  Log log;
  LogBuilder(uint64_t lines = 8) {
    log.header.base = kBase;
    log.header.size = lines * kLineSize;
    log.header.line_size = kLineSize;
    log.complete = true;
  }
  LogBuilder& store(uint64_t off, uint8_t value, uint32_t size = 8, bool nt = false) {
    Record r;
    r.h.type = RecordType::Store;
    r.h.addr = kBase + off;
    r.h.size = size;
    r.h.flags = nt ? kStoreNonTemporal : 0;
    r.data.assign(size, value);
    log.records.push_back(r);
    return *this;
  }
  LogBuilder& flush(uint64_t off) { return simple(RecordType::Flush, kBase + off); }
  LogBuilder& fence() { return simple(RecordType::Fence, 0); }
  LogBuilder& syscall(uint64_t nr) { return simple(RecordType::Syscall, nr); }
  LogBuilder& checkpoint(uint64_t n) { return simple(RecordType::Checkpoint, n); }
  LogBuilder& simple(RecordType t, uint64_t addr) {
    Record r;
    r.h.type = t;
    r.h.addr = addr;
    log.records.push_back(r);
    return *this;
  }
};

std::vector<uint8_t> zeros(const Log& l) { return std::vector<uint8_t>(l.header.size, 0); }

TEST(CrashStates, SubsetsOfInFlightLinesAtAFence) {
  LogBuilder b;
  b.checkpoint(1).syscall(1).store(0, 0xaa).flush(0).store(64, 0xbb, 8, true).fence().syscall(2);
  PlanOptions o;
  o.atomic = 64;
  o.k = 1;
  o.samples = 1;  // the whole set
  Plan p = plan_crash_states(b.log, zeros(b.log), o);
  EXPECT_EQ(p.fences_with_lines, 1u);
  // {}, {0}, {64}, {0, 64}
  ASSERT_EQ(p.states.size(), 4u);
  for (const auto& s : p.states) {
    EXPECT_EQ(p.boundaries[s.before].kind, Boundary::Kind::Syscall);
    EXPECT_EQ(p.boundaries[s.before].number, 1u);
    EXPECT_EQ(p.boundaries[s.after].number, 2u);
    EXPECT_EQ(s.in_flight, 2u);
    EXPECT_EQ(s.included.size() + s.dropped.size(), 2u);
  }
  // Images: the state with everything equals the volatile image after the syscall.
  int seen = 0;
  materialize(b.log, zeros(b.log), p, [&](const ImageRequest& r, const std::vector<uint8_t>& img, const PmemModel&) {
    if (r.kind == ImageRequest::Kind::State) {
      const CrashState& s = p.states[r.index];
      bool has0 = img[0] == 0xaa, has64 = img[64] == 0xbb;
      EXPECT_EQ(has0, std::find(s.included.begin(), s.included.end(), 0) != s.included.end());
      EXPECT_EQ(has64, std::find(s.included.begin(), s.included.end(), 64) != s.included.end());
      seen++;
    } else if (r.index == p.states[0].after) {
      EXPECT_EQ(img[0], 0xaa);
      EXPECT_EQ(img[64], 0xbb);
    } else {
      EXPECT_EQ(img[0], 0);
    }
  });
  EXPECT_EQ(seen, 4);
}

TEST(CrashStates, UnflushedLineStaysInFlightAndIsDescribed) {
  LogBuilder b;
  b.checkpoint(1).syscall(17).store(0, 1).fence().syscall(74).store(128, 2, 8, true).fence();
  PlanOptions o;
  o.atomic = 64;
  o.k = 1;
  o.samples = 0;
  Plan p = plan_crash_states(b.log, zeros(b.log), o);
  // Fence 1: {}, {0}. Fence 2, in the next syscall: line 0 still in flight (never flushed)
  // and line 128: {}, {0}, {128}; the same images as before count again, because what they
  // must equal changed.
  ASSERT_EQ(p.states.size(), 5u);
  const CrashState& last = p.states.back();
  EXPECT_EQ(p.boundaries[last.before].number, 74u);
  bool described = false;
  materialize(b.log, zeros(b.log), p, [&](const ImageRequest& r, const std::vector<uint8_t>&, const PmemModel& m) {
    if (r.kind != ImageRequest::Kind::State || r.index != p.states.size() - 1) return;
    for (uint64_t l : p.states[r.index].dropped) {
      DroppedLine d = m.describe(l);
      if (l == 0) {
        EXPECT_FALSE(d.flushed);
        ASSERT_EQ(d.stores.size(), 1u);
        EXPECT_EQ(d.stores[0].record, 2u);
        EXPECT_EQ(p.boundaries[d.stores[0].boundary].number, 17u);
        described = true;
      }
    }
  });
  EXPECT_TRUE(described);
}

TEST(CrashStates, StartAtTheFirstCheckpointAndSkipUnchangedLines) {
  LogBuilder b;
  // Set-up before the checkpoint is not checked; a store of what is already there is not
  // a different state.
  b.store(0, 5).flush(0).fence().checkpoint(1).store(0, 5).fence().store(64, 9).fence();
  Plan p = plan_crash_states(b.log, zeros(b.log), PlanOptions{});
  EXPECT_EQ(p.fences_with_lines, 1u);
  EXPECT_EQ(p.first_record, 3u);
  for (const auto& s : p.states) EXPECT_GT(s.fence_record, 3u);
}

TEST(CrashStates, AnAtomicUnitPersistsWhole) {
  LogBuilder b(16);
  // Lines 0 and 64 share a 512-byte sector; line 512 is the next one.
  b.checkpoint(1).store(0, 1, 8, true).store(64, 2, 8, true).store(512, 3, 8, true).fence();
  PlanOptions o;
  o.atomic = 512;
  o.k = 1;
  o.samples = 1;
  Plan p = plan_crash_states(b.log, zeros(b.log), o);
  // {}, {sector 0}, {sector 1}, {both}
  ASSERT_EQ(p.states.size(), 4u);
  for (const auto& s : p.states) {
    bool has0 = std::find(s.included.begin(), s.included.end(), 0) != s.included.end();
    bool has64 = std::find(s.included.begin(), s.included.end(), 64) != s.included.end();
    EXPECT_EQ(has0, has64);
    EXPECT_EQ(s.in_flight, 3u);
  }
}

TEST(CrashStates, SamplingBoundsTheCountAndIsSeeded) {
  LogBuilder b(64);
  b.checkpoint(1);
  for (int i = 0; i < 64; i++) b.store(uint64_t(i) * 64, uint8_t(i + 1), 8, true);
  b.fence();
  PlanOptions o;
  o.atomic = 64;
  o.k = 2;
  o.max_states = 50;
  Plan p1 = plan_crash_states(b.log, zeros(b.log), o);
  Plan p2 = plan_crash_states(b.log, zeros(b.log), o);
  EXPECT_EQ(p1.states.size(), 50u);
  EXPECT_GE(p1.distinct, 1u + 64 + 64 * 63 / 2);
  for (size_t i = 0; i < p1.states.size(); i++) EXPECT_EQ(p1.states[i].hash, p2.states[i].hash);
}

}  // namespace
}  // namespace kvmrr::pmem
