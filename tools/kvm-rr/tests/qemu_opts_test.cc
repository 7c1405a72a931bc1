#include "qemu_opts.h"

#include <gtest/gtest.h>

namespace kvmrr {
namespace {

TEST(QemuOpts, RoundTripsWhatQemuWrites) {
  for (const char* s : {"file=/a/b.img,if=virtio,format=raw", "stdio,id=con0,signal=off", "kvm-rr-ctl,recording=/r",
                        "file=/x,,y.img,readonly", "pc-i440fx-5.1,accel=kvm"}) {
    EXPECT_EQ(QemuOpts::parse(s).str(), s);
  }
}

TEST(QemuOpts, ReadsAndChangesValues) {
  QemuOpts d = QemuOpts::parse("file=/old,,name.img,if=virtio,readonly");
  EXPECT_EQ(d.get("file"), "/old,name.img");
  EXPECT_FALSE(d.implied());
  d.set("file", "/new,dir/root.ext4");
  EXPECT_EQ(d.str(), "file=/new,,dir/root.ext4,if=virtio,readonly");

  QemuOpts c = QemuOpts::parse("stdio,id=con0,signal=off");
  EXPECT_EQ(c.implied(), "stdio");
  c.set_implied("null");
  c.keep_only({"id"});
  EXPECT_EQ(c.str(), "null,id=con0");

  QemuOpts m = QemuOpts::parse("pc-i440fx-5.1,accel=kvm,kernel-irqchip=off");
  m.set("accel", "tcg");
  EXPECT_EQ(m.str(), "pc-i440fx-5.1,accel=tcg,kernel-irqchip=off");
  EXPECT_FALSE(m.has("memory-backend"));
}

}  // namespace
}  // namespace kvmrr
