#include "kvmrr/event.h"

#include <gtest/gtest.h>

namespace kvmrr {
namespace {

// Code reads arguments by arg:: position; dump and the docs print them by name. Both must
// say the same, or a report names the wrong field.
TEST(Event, ArgumentPositionsMatchTheirNames) {
  struct Case {
    EventType type;
    size_t pos;
    const char* name;
  };
  const Case cases[] = {
      {EventType::Syscall, arg::kVector, "nr"},
      {EventType::Syscall, arg::kSyscallPid, "pid"},
      {EventType::Exception, arg::kEntryPid, "pid"},
      {EventType::Interrupt, arg::kEntryPid, "pid"},
      {EventType::Exception, arg::kVector, "vector"},
      {EventType::Exception, arg::kErrorCode, "error_code"},
      {EventType::Exception, arg::kCr2, "cr2"},
      {EventType::Interrupt, arg::kVector, "vector"},
      {EventType::Interrupt, arg::kUser, "user"},
      {EventType::Interrupt, arg::kIrqSync, "sync"},
      {EventType::Cfu, arg::kUaddr, "uaddr"},
      {EventType::Cfu, arg::kReadLen, "len"},
      {EventType::Gfu, arg::kKind, "kind"},
      {EventType::Rdtsc, arg::kValue, "value"},
      {EventType::Rdseed, arg::kValue, "value"},
      {EventType::IoIn, arg::kWhere, "port"},
      {EventType::IoIn, arg::kSize, "size"},
      {EventType::IoIn, arg::kDeviceValue, "value"},
      {EventType::Mmio, arg::kWhere, "gpa"},
      {EventType::Dma, arg::kRamAddr, "ram_addr"},
      {EventType::Dma, arg::kWriteLen, "len"},
      {EventType::Dma, arg::kWriteSync, "sync"},
      {EventType::Pte, arg::kInIo, "in_io"},
      {EventType::YieldWindow, arg::kYield, "yield"},
      {EventType::YieldWindow, arg::kPending, "pending"},
      {EventType::Deschedule, arg::kSwitchSync, "sync"},
      {EventType::Resume, arg::kSwitchSync, "sync"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(event_type_info(c.type).args[c.pos], c.name) << to_string(c.type) << " argument " << c.pos;
  }
}

}  // namespace
}  // namespace kvmrr
