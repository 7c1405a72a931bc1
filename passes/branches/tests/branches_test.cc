#include <fstream>

#include <gtest/gtest.h>

#include "kvmrr/branch_log.h"
#include "kvmrr/branch_report.h"
#include "kvmrr/error.h"
#include "test_util.h"
#include "x86_branch.h"

namespace kvmrr::branches {
namespace {

using testing::TempDir;
using T = BranchInsn::Type;

TEST(X86Branch, ClassifiesTheInstructionsThatEndBlocks) {
  const uint8_t call[] = {0xe8, 0x10, 0x00, 0x00, 0x00};
  EXPECT_EQ(classify_branch(call, 5, 0x1000).type, T::Call);
  EXPECT_EQ(classify_branch(call, 5, 0x1000).target, 0x1015u);
  const uint8_t call_rax[] = {0xff, 0xd0};
  EXPECT_EQ(classify_branch(call_rax, 2, 0).type, T::Call);
  const uint8_t jmp_rax[] = {0xff, 0xe0};
  EXPECT_EQ(classify_branch(jmp_rax, 2, 0).type, T::Jump);
  const uint8_t ret[] = {0xc3};
  EXPECT_EQ(classify_branch(ret, 1, 0).type, T::Return);
  const uint8_t jne_back[] = {0x75, 0xfe};
  EXPECT_EQ(classify_branch(jne_back, 2, 0x2000).type, T::CondJump);
  EXPECT_EQ(classify_branch(jne_back, 2, 0x2000).target, 0x2000u);
  const uint8_t je32[] = {0x0f, 0x84, 0x00, 0x01, 0x00, 0x00};
  EXPECT_EQ(classify_branch(je32, 6, 0).target, 0x106u);
  const uint8_t sysretq[] = {0x48, 0x0f, 0x07};
  EXPECT_EQ(classify_branch(sysretq, 3, 0).type, T::Sysret);
  const uint8_t iretq[] = {0x48, 0xcf};
  EXPECT_EQ(classify_branch(iretq, 2, 0).type, T::Iret);
  const uint8_t out_dx[] = {0xee};
  EXPECT_EQ(classify_branch(out_dx, 1, 0).type, T::None);
}

TEST(BranchLog, WrittenReadAndCutShort) {
  TempDir dir;
  auto path = dir.path() / "branches.log";
  {
    LogWriter w(path, Window{5, 9, 41});
    for (uint64_t i = 0; i < 70000; i++) w.append(Record{i, i + 1, i * 3, 6, 41, 1, Kind::Jump, 0});
    w.finish(123);
  }
  Log log = read_log(path);
  EXPECT_TRUE(log.complete);
  EXPECT_EQ(log.instructions, 123u);
  EXPECT_EQ(log.window.pid, 41u);
  ASSERT_EQ(log.records.size(), 70000u);
  EXPECT_EQ(log.records[69999].to, 70000u);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 20);
  Log cut = read_log(path);
  EXPECT_FALSE(cut.complete);
  EXPECT_EQ(cut.records.size(), 65536u);  // the whole first chunk
  std::ofstream(path, std::ios::trunc) << "something else entirely, long enough for a header";
  EXPECT_THROW(read_log(path), RecordingError);
}

Record rec(Kind k, uint64_t from, uint64_t to, uint64_t icount, uint32_t pid = 7) {
  return Record{from, to, icount, 0, pid, 0, k, 0};
}

// Addresses name functions by their hundreds: 0x100 entry, 0x200 do_syscall, 0x300 getpid,
// 0x400 pid_nr, 0x500 timer interrupt.
std::string fn(uint64_t a) {
  static const char* names[] = {"user", "entry", "do_syscall", "getpid", "pid_nr", "timer"};
  return a / 0x100 < 6 ? names[a / 0x100] : "?";
}

TEST(CallTree, CountsCallsAndInstructionsAsTheRecordsSay) {
  Log log;
  log.records = {
      rec(Kind::Entry, 0, 0x100, 0),          rec(Kind::Call, 0x110, 0x200, 5),    rec(Kind::Call, 0x210, 0x300, 9),
      rec(Kind::Call, 0x310, 0x400, 12),      rec(Kind::Return, 0x410, 0x315, 20), rec(Kind::Interrupt, 0, 0x500, 22),
      rec(Kind::Iret, 0x510, 0x316, 40),      rec(Kind::Call, 0x320, 0x400, 41),   rec(Kind::Return, 0x410, 0x325, 45),
      rec(Kind::Return, 0x330, 0x215, 50),    rec(Kind::Return, 0x230, 0x115, 60), rec(Kind::ToUser, 0x120, 0, 61),
      rec(Kind::Return, 0x120, 0x999, 70, 8),  // another thread returns from before the window
  };
  CallTree t = build_call_tree(log, fn);
  EXPECT_EQ(t.call_records, 4u);
  CallNode& entry = *t.root.children.at("[entry] entry");
  EXPECT_EQ(entry.entries, 1u);
  EXPECT_EQ(entry.instructions, 61u);
  CallNode& sys = *entry.children.at("do_syscall");
  EXPECT_EQ(sys.calls, 1u);
  EXPECT_EQ(sys.instructions, 55u);
  CallNode& getpid = *sys.children.at("getpid");
  EXPECT_EQ(getpid.instructions, 41u);
  EXPECT_EQ(getpid.children.at("pid_nr")->calls, 2u);
  EXPECT_EQ(getpid.children.at("pid_nr")->instructions, 8u + 4u);
  EXPECT_EQ(getpid.children.at("[interrupt] timer")->entries, 1u);
  EXPECT_EQ(t.unmatched_returns, 1u);
  // The sum of calls over the tree is the number of call records.
  std::function<uint64_t(const CallNode&)> sum = [&](const CallNode& n) {
    uint64_t s = n.calls;
    for (const auto& [name, c] : n.children) s += sum(*c);
    return s;
  };
  EXPECT_EQ(sum(t.root), t.call_records);
  std::string text = format_call_tree(t);
  EXPECT_NE(text.find("\n       2           12        pid_nr\n"), std::string::npos) << text;

  nlohmann::json j = chrome_trace(t);
  EXPECT_EQ(check_chrome_trace(j), "") << j.dump(1);
  EXPECT_EQ(check_chrome_trace(nlohmann::json::parse(j.dump())), "");
  size_t x = 0;
  for (const auto& e : j["traceEvents"]) x += e["ph"] == "X";
  EXPECT_EQ(x, t.spans.size());
}

TEST(CallTree, ATailCallIsAFrameThatEndsWithItsCallersReturn) {
  Log log;
  log.records = {
      rec(Kind::Call, 0x110, 0x200, 0),     // entry -> do_syscall
      rec(Kind::Jump, 0x210, 0x220, 2),     // inside do_syscall: not a call
      rec(Kind::Jump, 0x230, 0x300, 3),     // do_syscall's tail call to getpid
      rec(Kind::Call, 0x310, 0x400, 5),     // getpid -> pid_nr
      rec(Kind::Return, 0x410, 0x315, 9),   // pid_nr returns
      rec(Kind::Return, 0x320, 0x115, 12),  // getpid returns for do_syscall
      rec(Kind::Call, 0x120, 0x400, 13),    // entry -> pid_nr: under entry again
      rec(Kind::Return, 0x410, 0x125, 14),
  };
  CallTree t = build_call_tree(log, fn);
  EXPECT_EQ(t.call_records, 3u);
  EXPECT_EQ(t.tail_records, 1u);
  CallNode& sys = *t.root.children.at("do_syscall");
  EXPECT_EQ(sys.instructions, 12u);
  CallNode& getpid = *sys.children.at("getpid");
  EXPECT_EQ(getpid.tail_calls, 1u);
  EXPECT_EQ(getpid.calls, 0u);
  EXPECT_EQ(getpid.children.at("pid_nr")->calls, 1u);
  EXPECT_EQ(t.root.children.at("pid_nr")->calls, 1u);
  EXPECT_EQ(t.unmatched_returns, 0u);
}

TEST(ChromeTrace, TheCheckerRejectsWhatPerfettoWouldNot) {
  EXPECT_NE(check_chrome_trace(nlohmann::json::array()), "");
  EXPECT_NE(check_chrome_trace({{"traceEvents", {{{"name", "a"}, {"ph", "X"}, {"ts", 1}, {"pid", 1}, {"tid", 1}}}}}),
            "");  // X without dur
  EXPECT_NE(check_chrome_trace({{"traceEvents", {{{"name", "a"}, {"ph", "E"}, {"ts", 1}, {"pid", 1}, {"tid", 1}}}}}),
            "");  // E without B
  EXPECT_NE(check_chrome_trace({{"traceEvents", {{{"name", "a"}, {"ph", "Q"}, {"ts", 1}, {"pid", 1}, {"tid", 1}}}}}),
            "");
  EXPECT_EQ(check_chrome_trace(
                {{"traceEvents", {{{"name", "a"}, {"ph", "X"}, {"ts", 1}, {"dur", 2}, {"pid", 1}, {"tid", 1}}}}}),
            "");
}

TEST(BranchFormat, LinesNameKindAndSymbols) {
  EXPECT_EQ(format_record(Record{0x110, 0x200, 0, 12, 41, 1, Kind::Call, 0}, fn),
            "#12 vcpu=1 pid=41 call entry -> do_syscall");
  EXPECT_EQ(format_record(Record{0x120, 0, 0, 13, 41, 1, Kind::ToUser, 0}, fn),
            "#13 vcpu=1 pid=41 to_user entry -> user");
}

}  // namespace
}  // namespace kvmrr::branches
