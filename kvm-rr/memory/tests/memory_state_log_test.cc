#include "kvmrr/memory_state_log.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "kvmrr/error.h"
#include "test_util.h"

namespace kvmrr {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Every page at the first point, then only the pages whose bytes or kind changed: two
// replays that did the same thing write the same file, and a difference names its page.
TEST(MemoryStateLog, FirstPointWholeThenWhatChanged) {
  testing::TempDir dir;
  std::vector<uint8_t> ram(4 * kPageBytes, 0);
  GuestMemory mem;
  mem.ram = ram.data();
  mem.bytes = ram.size();
  {
    MemoryStateLog log(dir.path() / "state");
    log.write(1, 100, mem, {});
    ram[2 * kPageBytes + 5] = 1;  // page 2's bytes
    PageDigest slab;
    slab.pfn = 3;
    slab.kind = PageKind::Slab;  // page 3 becomes covered, its bytes unchanged
    log.write(2, 200, mem, {slab});
    log.write(3, 300, mem, {slab});
  }
  std::string text = read_all(dir.path() / "state");
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> lines;
  std::vector<std::string> kinds;
  while (std::getline(in, line)) (line.rfind("kind ", 0) == 0 ? kinds : lines).push_back(line);
  // What the numbers mean comes first: readers need not know them.
  EXPECT_EQ(text.rfind("kind 1 covered slab\n", 0), 0u) << text.substr(0, 200);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "kind 6 covered per-CPU data"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "kind 11 ring the event ring"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "kind 18 user anonymous"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "kind 12 other free"), kinds.end());
  ASSERT_EQ(lines.size(), 1u + 4 + 1 + 2 + 1);
  EXPECT_EQ(lines[0], "point 1 events 100 changed 4");
  EXPECT_EQ(lines[5], "point 2 events 200 changed 2");
  EXPECT_EQ(lines[6].substr(0, 4), "2 0 ");
  EXPECT_EQ(lines[7].substr(0, 4), "3 1 ");
  EXPECT_EQ(lines[8], "point 3 events 300 changed 0");
  EXPECT_NE(hash_whole_page(ram.data()), hash_whole_page(ram.data() + 2 * kPageBytes));
}

TEST(MemoryStateLog, RefusesAFileItCannotCreate) {
  EXPECT_THROW(MemoryStateLog("/nonexistent-dir/state"), RecordingError);
}

}  // namespace
}  // namespace kvmrr
