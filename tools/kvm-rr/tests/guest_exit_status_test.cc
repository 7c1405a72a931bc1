#include "guest_args.h"

#include <sstream>

#include <gtest/gtest.h>

namespace kvmrr {
namespace {

// What `kvm-rr record/run` prints when the guest never reported its command's status.
std::string why_no_status(const GuestRunResult& r) {
  std::ostringstream err;
  EXPECT_NE(guest_exit_status("record", r, GuestRunOptions{}, err), 0);
  return err.str();
}

TEST(GuestExitStatus, ReportedStatusIsTheExitStatus) {
  GuestRunResult r;
  r.qemu_exit = 3;
  r.guest_status = 3;
  std::ostringstream err;
  EXPECT_EQ(guest_exit_status("record", r, GuestRunOptions{}, err), 3);
  EXPECT_EQ(err.str(), "");
}

TEST(GuestExitStatus, ExitZeroWithoutStatusIsCalledAGuestReset) {
  GuestRunResult r;
  r.qemu_exit = 0;
  std::string why = why_no_status(r);
  EXPECT_NE(why.find("the guest reset (a triple fault?)"), std::string::npos) << why;
}

TEST(GuestExitStatus, PanicAndSignalAndOtherStatusSayWhatHappened) {
  GuestRunResult panic;
  panic.qemu_exit = 0;
  panic.kernel_panic = true;
  EXPECT_NE(why_no_status(panic).find("the guest kernel panicked"), std::string::npos);
  GuestRunResult killed;
  killed.qemu_signal = 9;
  EXPECT_NE(why_no_status(killed).find("killed by signal 9"), std::string::npos);
  GuestRunResult failed;
  failed.qemu_exit = 1;
  std::string why = why_no_status(failed);
  EXPECT_NE(why.find("QEMU exited with status 1"), std::string::npos) << why;
  EXPECT_EQ(why.find("reset"), std::string::npos) << why;
}

}  // namespace
}  // namespace kvmrr
