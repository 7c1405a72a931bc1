#pragma once
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kvmrr/event.h"

namespace kvmrr::testing {

// A fresh directory under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() / (std::string("kvmrr-test-") + info->test_suite_name() + "-" +
                                                      info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Events of every type with varied arguments and payloads; deterministic for a seed.
inline std::vector<Event> sample_events(size_t n, uint32_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<Event> out;
  for (size_t i = 0; i < n; i++) {
    Event e;
    e.type = static_cast<EventType>(kFirstEventType + i % (kLastEventType - kFirstEventType + 1));
    e.vcpu = uint32_t(rng() % 4);
    e.rip = 0xffffffff81000000ull + (rng() % 0x1000000);
    e.digest = (i % 3) ? rng() : 0;
    size_t nargs = rng() % (kMaxEventArgs + 1);
    for (size_t a = 0; a < nargs; a++) e.push_arg(a % 2 ? rng() : rng() % 300);
    size_t data = (i % 5 == 0) ? rng() % 600 : 0;
    for (size_t b = 0; b < data; b++) e.data.push_back(uint8_t(rng()));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace kvmrr::testing
