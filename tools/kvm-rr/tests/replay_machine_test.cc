#include "replay_machine.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "cli_test_util.h"

#include "test_util.h"

namespace kvmrr {
namespace {

using testing::fake_install;

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A command line a user typed to record from the monitor: their monitor socket, QMP, serial
// to a file and a pidfile are theirs, not the machine's; the replay must not take them over.
TEST(ReplayMachine, AUsersMonitorsAndConsoleFilesStayOutOfTheReplay) {
  testing::TempDir d;
  RecordingMeta m;
  m.command_line = {"/usr/bin/qemu",
                    "-machine",
                    "pc-i440fx-5.1",
                    "-accel",
                    "kvm,kernel-irqchip=off",
                    "-monitor",
                    "unix:/tmp/mon.sock,server=on,wait=off",
                    "-qmp",
                    "unix:/tmp/qmp.sock,server,nowait",
                    "-serial",
                    "file:/tmp/console.log",
                    "-pidfile",
                    "/tmp/q.pid",
                    "-kernel",
                    "/old/bzImage",
                    "-drive",
                    "file=/old/rootfs.ext4,if=none,id=root,format=raw,snapshot=on",
                    "-device",
                    "kvm-rr-ctl,recording=/old/rec"};
  m.smp = 2;
  m.created = "2026-12-06T00:00:00Z";
  Recording rec = Recording::create(d.path() / "rec", m);
  auto argv = replay_command_line(rec, fake_install());
  EXPECT_EQ(argv[0], "/q/qemu");
  EXPECT_FALSE(has(argv, "-monitor"));
  EXPECT_FALSE(has(argv, "-qmp"));
  EXPECT_FALSE(has(argv, "-pidfile"));
  EXPECT_TRUE(has(argv, "-serial") && has(argv, "null"));
  EXPECT_TRUE(has(argv, "tcg,thread=single"));
  EXPECT_TRUE(has(argv, "/k/bzImage"));
  EXPECT_TRUE(has(argv, "file=/g/rootfs.ext4,if=none,id=root,format=raw,snapshot=on"));
  EXPECT_TRUE(has(argv, "kvm-rr-ctl"));
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv[argv.size() - 2], "-kernel-replay");
  EXPECT_EQ(argv.back(), (d.path() / "rec").string());
}

}  // namespace
}  // namespace kvmrr
