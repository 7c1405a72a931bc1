#include "guest_machine.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "cli_test_util.h"

namespace kvmrr {
namespace {

using testing::fake_install;

std::string arg_after(const std::vector<std::string>& v, const std::string& flag) {
  auto it = std::find(v.begin(), v.end(), flag);
  return it != v.end() && it + 1 != v.end() ? *(it + 1) : "";
}

TEST(GuestMachine, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("echo 'a b' | wc -c"), "ZWNobyAnYSBiJyB8IHdjIC1j");
}

TEST(GuestMachine, ShellCommandQuotesSeveralWords) {
  EXPECT_EQ(GuestMachine::shell_command({"echo hi | wc"}), "echo hi | wc");
  EXPECT_EQ(GuestMachine::shell_command({"echo", "a b", "it's"}), "echo 'a b' 'it'\\''s'");
  EXPECT_EQ(GuestMachine::shell_command({"fio", "--size=1M"}), "fio --size=1M");
}

TEST(GuestMachine, CommandLine) {
  GuestOptions o;
  o.command = "true";
  o.memory_mb = 1024;
  o.pmem_mb = 128;
  GuestMachine m(fake_install(), o);
  auto argv = m.qemu_argv();
  EXPECT_EQ(argv[0], "/q/qemu");
  EXPECT_EQ(arg_after(argv, "-m"), "1024");
  EXPECT_EQ(arg_after(argv, "-machine"), "pc-i440fx-5.1");
  EXPECT_EQ(arg_after(argv, "-accel"), "tcg");
  std::string append = arg_after(argv, "-append");
  EXPECT_NE(append.find("memmap=128M!768M"), std::string::npos) << append;
  EXPECT_NE(append.find("kvmrr_cmd=dHJ1ZQ=="), std::string::npos) << append;
  EXPECT_NE(std::find(argv.begin(), argv.end(), "isa-debug-exit,iobase=0xf4,iosize=1,raw-status=on"), argv.end());
}

TEST(GuestMachine, KernelArgsGoOnTheCommandLine) {
  GuestOptions o;
  o.kernel_args = "kvmrr_serialize";
  std::string append = arg_after(GuestMachine(fake_install(), o).qemu_argv(), "-append");
  EXPECT_NE(append.find(" kvmrr_serialize "), std::string::npos) << append;
}

TEST(GuestMachine, AKnownTscFrequencyMakesTheTscTheClock) {
  GuestOptions o;
  std::string plain = arg_after(GuestMachine(fake_install(), o).qemu_argv(), "-append");
  EXPECT_EQ(plain.find("tsc"), std::string::npos) << "nothing about the TSC unless it is known: " << plain;
  o.tsc_khz = 2994375;
  std::string append = arg_after(GuestMachine(fake_install(), o).qemu_argv(), "-append");
  EXPECT_NE(append.find(" tsc_early_khz=2994375 tsc=reliable "), std::string::npos) << append;
}

TEST(GuestMachine, UnderKvmTheTimerTicksPeriodically) {
  GuestOptions o;
  std::string tcg = arg_after(GuestMachine(fake_install(), o).qemu_argv(), "-append");
  EXPECT_EQ(tcg.find("highres"), std::string::npos) << tcg;
  o.accel = "kvm";
  std::string kvm = arg_after(GuestMachine(fake_install(), o).qemu_argv(), "-append");
  EXPECT_NE(kvm.find(" highres=off nohz=off "), std::string::npos) << kvm;
}

TEST(GuestMachine, ExtraDisksFollowTheRootDisk) {
  GuestOptions o;
  o.extra_disks = {{"/t/states,1.img", true}, {"/t/out.img", false}};
  auto argv = GuestMachine(fake_install(), o).qemu_argv();
  auto root = std::find(argv.begin(), argv.end(), "virtio-blk-pci,drive=root");
  auto d1 = std::find(argv.begin(), argv.end(), "file=/t/states,,1.img,if=none,id=disk1,format=raw,readonly=on");
  auto d2 = std::find(argv.begin(), argv.end(), "file=/t/out.img,if=none,id=disk2,format=raw");
  ASSERT_NE(d1, argv.end());
  ASSERT_NE(d2, argv.end());
  EXPECT_LT(root, d1);
  EXPECT_LT(d1, d2);
  EXPECT_EQ(*(d1 + 2), "virtio-blk-pci,drive=disk1");
}

TEST(GuestMachine, KvmMachineIsRecordable) {
  GuestOptions o;
  o.accel = "kvm";
  GuestMachine m(fake_install(), o);
  EXPECT_EQ(arg_after(m.qemu_argv(), "-cpu"), "qemu64,-kvmclock,-x2apic,kvm=off");
  EXPECT_EQ(arg_after(m.qemu_argv(), "-accel"), "kvm,kernel-irqchip=off,coalesced-io=off");
}

TEST(GuestMachine, RejectsImpossibleOptions) {
  GuestOptions o;
  o.pmem_mb = 1024;
  EXPECT_THROW(GuestMachine(fake_install(), o), std::invalid_argument);
  o = {};
  o.accel = "xen";
  EXPECT_THROW(GuestMachine(fake_install(), o), std::invalid_argument);
  o = {};
  o.command = std::string(5000, 'x');
  EXPECT_THROW(GuestMachine(fake_install(), o), std::invalid_argument);
}

}  // namespace
}  // namespace kvmrr
