#include "kvm_host.h"

#include <fstream>

#include <gtest/gtest.h>

#include "test_util.h"

namespace kvmrr {
namespace {

using testing::TempDir;

TEST(KvmHost, MissingDeviceSaysSoAndNamesTheAlternatives) {
  TempDir d;
  KvmDiagnosis k = diagnose_kvm(d.path() / "kvm", d.path());
  EXPECT_EQ(k.kind, KvmDiagnosis::Kind::Missing);
  EXPECT_NE(k.explanation.find("does not exist"), std::string::npos) << k.explanation;
  EXPECT_NE(k.explanation.find("--accel tcg"), std::string::npos);
  EXPECT_NE(k.explanation.find("tools/kvm-lab"), std::string::npos);
}

TEST(KvmHost, PvmIsASoftwareKvm) {
  TempDir d;
  std::ofstream(d.path() / "kvm") << "";
  std::filesystem::create_directories(d.path() / "modules/kvm_pvm");
  KvmDiagnosis k = diagnose_kvm(d.path() / "kvm", d.path() / "modules");
  EXPECT_EQ(k.kind, KvmDiagnosis::Kind::Software);
  EXPECT_NE(k.explanation.find("PVM"), std::string::npos) << k.explanation;
  EXPECT_NE(k.explanation.find("1000 times slower"), std::string::npos);
}

TEST(KvmHost, HardwareKvmIsUsable) {
  TempDir d;
  std::ofstream(d.path() / "kvm") << "";
  std::filesystem::create_directories(d.path() / "modules/kvm_amd");
  KvmDiagnosis k = diagnose_kvm(d.path() / "kvm", d.path() / "modules");
  EXPECT_EQ(k.kind, KvmDiagnosis::Kind::Usable) << k.explanation;
}

TEST(KvmHost, UnopenableDeviceIsExplained) {
  TempDir d;
  std::filesystem::create_directories(d.path() / "kvm");  // a directory cannot be opened read-write
  KvmDiagnosis k = diagnose_kvm(d.path() / "kvm", d.path());
  EXPECT_NE(k.kind, KvmDiagnosis::Kind::Usable);
  EXPECT_NE(k.explanation.find("cannot open"), std::string::npos) << k.explanation;
}

}  // namespace
}  // namespace kvmrr
