#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "kvmrr/error.h"
#include "kvmrr/pmem_image.h"
#include "kvmrr/pmem_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

namespace kvmrr::pmem {
namespace {

using kvmrr::testing::TempDir;

RecordHeader store(uint64_t addr, uint32_t size) {
  RecordHeader h{};
  h.type = RecordType::Store;
  h.addr = addr;
  h.size = size;
  h.pc = 0xffffffff81000000;
  return h;
}

TEST(PmemLog, RoundTrip) {
  TempDir t;
  auto p = t.path() / "pmem.log";
  {
    LogWriter w(p, 0x1000, 0x1000);
    uint8_t data[3] = {1, 2, 3};
    w.append(store(0x1005, 3), data);
    RecordHeader f{};
    f.type = RecordType::Fence;
    f.kind = uint8_t(FenceKind::Sfence);
    w.append(f);
    w.end(7, 9);
  }
  Log log = read_log(p);
  EXPECT_TRUE(log.complete);
  EXPECT_EQ(log.header.base, 0x1000u);
  ASSERT_EQ(log.records.size(), 2u);
  EXPECT_EQ(log.records[0].h.addr, 0x1005u);
  EXPECT_EQ(log.records[0].data, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(log.records[1].h.type, RecordType::Fence);
  EXPECT_EQ(log.fences_total, 7u);
  EXPECT_EQ(log.stores_total, 9u);
}

TEST(PmemLog, CutShortReadsAsPrefix) {
  TempDir t;
  auto p = t.path() / "pmem.log";
  {
    LogWriter w(p, 0, 0x1000);
    uint8_t data[8] = {};
    w.append(store(0, 8), data);
    w.append(store(8, 8), data);
    w.flush();
  }
  std::filesystem::resize_file(p, std::filesystem::file_size(p) - 5);
  Log log = read_log(p);
  EXPECT_FALSE(log.complete);
  EXPECT_EQ(log.records.size(), 1u);
  EXPECT_NE(log.incomplete_reason.find("cut short"), std::string::npos);
}

TEST(PmemLog, RejectsOtherFilesAndVersions) {
  TempDir t;
  auto p = t.path() / "pmem.log";
  { std::ofstream(p) << "this is not a pmem log at all, not even close"; }
  try {
    read_log(p);
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Corrupt);
  }
  { LogWriter w(p, 0, 0x1000); }
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(8);
  uint32_t v = 99;
  f.write(reinterpret_cast<const char*>(&v), 4);
  f.close();
  try {
    read_log(p);
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Version);
  }
}

TEST(PmemLog, StoreOutsideTheRangeIsCorrupt) {
  TempDir t;
  auto p = t.path() / "pmem.log";
  {
    LogWriter w(p, 0x1000, 0x1000);
    uint8_t data[8] = {};
    w.append(store(0x2000, 8), data);
    w.end(0, 0);
  }
  EXPECT_THROW(read_log(p), RecordingError);
}

TEST(PmemImage, ZeroBlocksStayHolesAndTheImageReadsBack) {
  TempDir t;
  auto p = t.path() / "img";
  std::vector<uint8_t> img(1 << 20, 0);
  img[5] = 1;
  img[img.size() - 1] = 2;
  int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  write_sparse(fd, p, 0, img.data(), img.size());
  ASSERT_EQ(ftruncate(fd, off_t(img.size())), 0);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_LE(uint64_t(st.st_blocks) * 512, 64u << 10);  // two 4 KiB blocks, give or take the fs
  EXPECT_EQ(read_image(p, img.size()), img);
  EXPECT_THROW(read_image(p, img.size() + 1), RecordingError);
}

}  // namespace
}  // namespace kvmrr::pmem
