// Every command reads its options by one table (parse_options): bad usage is exit 2 with a
// message naming the command and the option, never an abort.
#include <sstream>

#include <gtest/gtest.h>

#include "command.h"

namespace kvmrr {
namespace {

const std::vector<OptionSpec> kTable = {
    {"--timeout", OptionSpec::Takes::Number}, {"--vmlinux", OptionSpec::Takes::Text}, {"--verbose"}};

TEST(Options, ReadsFlagsTextNumbersAndWordsInAnyOrder) {
  std::ostringstream err;
  ParsedOptions o;
  ASSERT_TRUE(parse_options("replay", {"DIR", "--timeout", "30", "--verbose", "--vmlinux", "v"}, kTable, o, err))
      << err.str();
  EXPECT_EQ(o.number("--timeout", 0), 30u);
  EXPECT_EQ(o.text("--vmlinux"), "v");
  EXPECT_TRUE(o.has("--verbose"));
  EXPECT_EQ(o.positional, std::vector<std::string>{"DIR"});
  EXPECT_EQ(o.number("--other", 7), 7u);
}

TEST(Options, BadUsageIsAMessageNotAnAbort) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--timeout", "x", "DIR"}, "kvm-rr replay: --timeout needs a number, not 'x'"},
      {{"--timeout", "-5", "DIR"}, "--timeout needs a number, not '-5'"},
      {{"--timeout", "99999999999999999999999", "DIR"}, "--timeout needs a number"},
      {{"--timeout"}, "kvm-rr replay: --timeout needs a number"},
      {{"DIR", "--vmlinux"}, "--vmlinux needs a value"},
      {{"--bogus", "DIR"}, "kvm-rr replay: unknown option --bogus"},
      {{"--", "ls"}, "unknown option --"},
  };
  for (const Case& c : cases) {
    std::ostringstream err;
    ParsedOptions o;
    EXPECT_FALSE(parse_options("replay", c.args, kTable, o, err)) << c.says;
    EXPECT_NE(err.str().find(c.says), std::string::npos) << err.str();
  }
}

TEST(Options, DoubleDashStartsTheGuestCommandWhereOneIsTaken) {
  std::ostringstream err;
  ParsedOptions o;
  ASSERT_TRUE(parse_options("run", {"--verbose", "--", "ls", "--timeout", "x"}, kTable, o, err, true));
  EXPECT_TRUE(o.dashdash);
  EXPECT_EQ(o.command, (std::vector<std::string>{"ls", "--timeout", "x"}));
  EXPECT_FALSE(o.has("--timeout"));
}

// Each command, as `kvm-rr CMD ...` runs it.
TEST(Options, EveryCommandExitsTwoOnABadValue) {
  struct Case {
    const char* command;
    std::vector<std::string> args;
  } cases[] = {
      {"replay", {"--timeout", "x", "DIR"}},
      {"replay", {"--gdb", "70000", "DIR"}},
      {"dump", {"--vmlinux"}},
      {"check", {"--nope", "DIR"}},
      {"pmem-check", {"-k", "x", "DIR"}},
      {"pmem-check", {"--atomic", "100", "DIR"}},
      {"record", {"--smp", "x", "-o", "D", "--", "true"}},
      {"run", {"--timeout", "soon", "--", "true"}},
  };
  for (const Case& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(Command::find(c.command)->run(c.args, out, err), kExitUsage) << c.command;
    EXPECT_NE(err.str().find(std::string("kvm-rr ") + c.command + ":"), std::string::npos) << err.str();
  }
}

}  // namespace
}  // namespace kvmrr
