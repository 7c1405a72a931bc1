#include "kvmrr/user_returns.h"

#include <fstream>

#include <gtest/gtest.h>

#include "kvmrr/error.h"
#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

TEST(UserReturns, WrittenAndReadBack) {
  TempDir dir;
  UserReturns r;
  r.events_replayed = 1234;
  r.returns = {{8, 3, 0x47b7a0}, {13, uint64_t(-2), 0x461189}};
  r.write(dir.path());
  std::optional<UserReturns> back = UserReturns::read(dir.path());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->events_replayed, 1234u);
  EXPECT_EQ(back->returns, r.returns);
}

TEST(UserReturns, NoneIsNotAnError) {
  TempDir dir;
  EXPECT_FALSE(UserReturns::read(dir.path()));
}

TEST(UserReturns, TruncatedOrForeignFilesAreErrorsNamingTheFile) {
  TempDir dir;
  UserReturns r;
  r.returns = {{1, 2, 3}, {4, 5, 6}};
  r.write(dir.path());
  std::filesystem::path file = dir.path() / UserReturns::kFile;
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 5);
  try {
    UserReturns::read(dir.path());
    FAIL() << "a truncated returns file was read";
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Truncated);
    EXPECT_EQ(e.file(), file);
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "NOTRETURNS-and-some-more-bytes-here";
  try {
    UserReturns::read(dir.path());
    FAIL() << "a foreign file was read";
  } catch (const RecordingError& e) {
    EXPECT_EQ(e.kind(), RecordingError::Kind::Corrupt);
  }
}

}  // namespace
}  // namespace kvmrr
