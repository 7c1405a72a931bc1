#include "kvmrr/syscall_trace.h"

#include <cstring>

#include <gtest/gtest.h>

#include "kvmrr/guest-abi.h"
#include "kvmrr/syscall_table.h"

namespace kvmrr {
namespace {

// pt_regs positions (kPtRegsNames): rdi 14, rsi 13, rdx 12, r10 7.
Event syscall(uint32_t vcpu, uint64_t nr, uint64_t pid, uint64_t rip, std::array<uint64_t, 4> a) {
  Event e;
  e.type = EventType::Syscall;
  e.vcpu = vcpu;
  e.rip = rip;
  e.nargs = 2;
  e.args[arg::kVector] = nr;
  e.args[arg::kSyscallPid] = pid;
  std::array<uint64_t, 21> regs{};
  regs[14] = a[0];
  regs[13] = a[1];
  regs[12] = a[2];
  regs[7] = a[3];
  regs[15] = nr;
  regs[16] = rip;
  e.data.resize(sizeof regs);
  memcpy(e.data.data(), regs.data(), sizeof regs);
  return e;
}

Event cfu(uint32_t vcpu, uint64_t uaddr, std::string bytes, uint32_t kind) {
  Event e;
  e.type = EventType::Cfu;
  e.vcpu = vcpu;
  e.nargs = 3;
  e.args[arg::kUaddr] = uaddr;
  e.args[arg::kReadLen] = bytes.size();
  e.args[arg::kKind] = kind;
  e.data.assign(bytes.begin(), bytes.end());
  return e;
}

std::vector<TracedEntry> trace(const std::vector<Event>& events, const UserReturns* returns) {
  std::vector<TracedEntry> out;
  SyscallTracer t(returns, [&](const TracedEntry& e) { out.push_back(e); });
  for (size_t i = 0; i < events.size(); i++) t.add(events[i], i);
  t.finish();
  return out;
}

TEST(SyscallTable, KnowsTheCallsOfTheGuestKernel) {
  ASSERT_TRUE(syscall_info(257));
  EXPECT_EQ(syscall_info(257)->name, "openat");
  EXPECT_EQ(syscall_info(257)->nargs, 4);
  EXPECT_EQ(syscall_info(257)->args[1].name, "filename");
  EXPECT_EQ(syscall_by_name("exit_group")->nr, 231u);
  EXPECT_EQ(syscall_info(56)->args[4].name, "tls");  // x86_64's clone, not another arch's
  EXPECT_EQ(errno_name(2), "ENOENT");
  EXPECT_EQ(exception_name(14), "page_fault");
  EXPECT_EQ(interrupt_vector_name(0xec), "local_timer");
  EXPECT_FALSE(syscall_info(100000));
}

TEST(SyscallTrace, OpenatReadAndTheirReturnsAsStraceShowsThem) {
  const uint64_t path = 0x7ffc1000, buf = 0x5000;
  std::vector<Event> ev = {
      syscall(0, 257, 41, 0x401000, {uint64_t(-100), path, 02000000, 0}),    // 0
      cfu(0, path, std::string("/etc/hostname\0", 14), KVMRR_UREAD_STRING),  // 1
      syscall(0, 0, 41, 0x401100, {3, buf, 4096, 0}),                        // 2
      syscall(0, 1, 41, 0x401200, {1, buf, 6, 0}),                           // 3
      cfu(0, buf, "kvmrr\n", KVMRR_UREAD_COPY),                              // 4
      syscall(0, 257, 41, 0x401000, {uint64_t(-100), path + 64, 0, 0}),      // 5
      cfu(0, path + 64, std::string("/nonexistent\0", 13), KVMRR_UREAD_STRING),
      syscall(0, 231, 41, 0x401300, {0, 0, 0, 0}),  // 7
  };
  UserReturns r;
  r.events_replayed = ev.size();
  r.returns = {{0, 3, 0x401000}, {2, 6, 0x401100}, {3, 6, 0x401200}, {5, uint64_t(-2), 0x401000}};
  std::vector<TracedEntry> t = trace(ev, &r);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0].call_text(), "openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3");
  EXPECT_EQ(t[0].index, 0u);
  EXPECT_EQ(t[0].pid, 41u);
  EXPECT_EQ(t[1].call_text(), "read(3, 0x5000, 4096) = 6");
  EXPECT_EQ(t[2].call_text(), "write(1, \"kvmrr\\n\", 6) = 6");
  EXPECT_EQ(t[3].call_text(), "openat(AT_FDCWD, \"/nonexistent\", O_RDONLY) = -1 ENOENT");
  EXPECT_EQ(t[4].call_text(), "exit_group(0) = ?");
  EXPECT_EQ(t[4].index, 7u);
}

TEST(SyscallTrace, EntriesOfSeveralVcpusComeOutInEventOrderWithTheirOwnReads) {
  std::vector<Event> ev = {
      syscall(0, 2, 10, 0x1000, {0x100, 0, 0, 0}),
      syscall(1, 2, 11, 0x1000, {0x200, 0, 0, 0}),
      cfu(1, 0x200, std::string("/b\0", 3), KVMRR_UREAD_STRING),
      cfu(0, 0x100, std::string("/a\0", 3), KVMRR_UREAD_STRING),
      syscall(1, 3, 11, 0x1100, {3, 0, 0, 0}),
  };
  std::vector<TracedEntry> t = trace(ev, nullptr);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].call_text(), "open(\"/a\", O_RDONLY) = ? (no replay yet)");
  EXPECT_EQ(t[1].call_text(), "open(\"/b\", O_RDONLY) = ? (no replay yet)");
  EXPECT_EQ(t[2].name, "close");
}

TEST(SyscallTrace, AWriteThatSleptGetsItsBytesThoughAnotherTasksReadWithTheSameAddressRunsThere) {
  const uint64_t buf = 0x7f0000;  // the pipe pair of one forked program: one address
  std::vector<Event> ev = {
      syscall(1, 1, 54, 0x1000, {4, buf, 3, 0}),  // write: the pipe is full, it sleeps
      syscall(1, 0, 57, 0x2000, {3, buf, 3, 0}),  // read on the same vCPU meanwhile
      cfu(1, buf, "abc", KVMRR_UREAD_COPY),       // the writer, woken, copies
      syscall(1, 1, 54, 0x1000, {4, buf, 3, 0}),
  };
  std::vector<TracedEntry> t = trace(ev, nullptr);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].call_text(), "write(4, \"abc\", 3) = ? (no replay yet)");
  EXPECT_EQ(t[1].call_text(), "read(3, 0x7f0000, 3) = ? (no replay yet)");
}

TEST(SyscallTrace, ReturnsElsewhereAreNamed) {
  std::vector<Event> ev = {
      syscall(0, 59, 5, 0x1000, {0x100, 0x200, 0x300, 0}),  // execve
      syscall(0, 0, 5, 0x2000, {0, 0x400, 10, 0}),          // read, interrupted and restarted
      syscall(0, 0, 5, 0x2000, {0, 0x400, 10, 0}),          // read, then a signal handler ran
      syscall(0, 35, 5, 0x3000, {0x500, 0, 0, 0}),          // nanosleep: the recording ends
  };
  UserReturns r;
  r.events_replayed = 4;
  r.returns = {{0, 0, 0x401000}, {1, 0, 0x1ffe}, {2, uint64_t(-4), 0x9000}};
  std::vector<TracedEntry> t = trace(ev, &r);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].result, "0");
  EXPECT_EQ(t[1].note, "interrupted, restarted");
  EXPECT_EQ(t[2].call_text(),
            "read(0, 0x400, 10) = ? (a signal handler at 0x9000 ran first; rt_sigreturn gives the value back)");
  EXPECT_EQ(t[3].note, "unfinished: the task did not enter the kernel again");
}

TEST(SyscallTrace, ExceptionsAndInterruptsFromUserMode) {
  Event pf;
  pf.type = EventType::Exception;
  pf.rip = 0x401000;
  pf.nargs = 4;
  pf.args = {14, 6, 0x7fff0000, 9};
  Event irq;
  irq.type = EventType::Interrupt;
  irq.rip = 0x401004;
  irq.nargs = 4;
  irq.args = {0xec, 1, 0, 9};
  Event kernel_irq = irq;
  kernel_irq.args[arg::kUser] = 0;  // not an entry from user mode
  std::vector<TracedEntry> t = trace({pf, irq, kernel_irq}, nullptr);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].call_text(), "page_fault(addr=0x7fff0000, error=0x6, ip=0x401000)");
  EXPECT_EQ(t[1].call_text(), "interrupt(vector=0xec local_timer, ip=0x401004)");
  EXPECT_EQ(t[1].pid, 9u);
}

TEST(SyscallDecode, FlagsAndBytes) {
  EXPECT_EQ(decode_open_flags(0), "O_RDONLY");
  EXPECT_EQ(decode_open_flags(01 | 0100 | 01000), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(decode_open_flags(02 | 040000000), "O_RDWR|0x800000");
  EXPECT_EQ(decode_mmap_prot(3), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(decode_mmap_prot(0), "PROT_NONE");
  EXPECT_EQ(decode_mmap_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(quote_bytes({'a', '\n', 0, 'b'}, 64, true), "\"a\\n\"");
  EXPECT_EQ(quote_bytes({'a', 'b', 'c'}, 2, false), "\"ab\"...");
  EXPECT_EQ(quote_bytes({1}, 8, false), "\"\\x01\"");
}

}  // namespace
}  // namespace kvmrr
