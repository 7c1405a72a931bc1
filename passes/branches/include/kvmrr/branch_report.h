#pragma once
// What `kvm-rr branches` makes of a branch log: symbolized lines, the call tree with counts
// and instruction counts (uftrace-like), Chrome trace-event JSON (Perfetto opens it).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kvmrr/branch_log.h"

namespace kvmrr::branches {

// An address as "func+0x12" (gdb's form); the function alone for the call tree.
using Symbolize = std::function<std::string(uint64_t)>;

// "#1234 vcpu=0 pid=41 call entry_SYSCALL_64+0x6f -> do_syscall_64"
std::string format_record(const Record& r, const Symbolize& sym);

struct CallNode {
  uint64_t calls = 0;         // CALL records that entered it from its parent
  uint64_t tail_calls = 0;    // jumps to its first instruction from another function
  uint64_t entries = 0;       // interrupts and kernel entries that began here
  uint64_t instructions = 0;  // inclusive, over the calls that returned in the window
  std::map<std::string, std::unique_ptr<CallNode>> children;
};

struct CallTree {
  CallNode root;
  uint64_t call_records = 0;       // Call records read (== the sum of calls over the tree)
  uint64_t tail_records = 0;       // Jump records that were tail calls
  uint64_t unmatched_returns = 0;  // returns from calls made before the window
  // Completed frames, for the Chrome trace: name, pid, vcpu, start, duration (instructions).
  struct Span {
    std::string name;
    uint32_t pid;
    uint16_t vcpu;
    uint64_t start, length;
  };
  std::vector<Span> spans;
};

// Frames are kept per thread (the log's pid; per vCPU where it is 0): a CALL pushes the
// callee, a RET pops it, a jump to another function's first instruction pushes a tail call
// that the RET ending its caller pops too, an interrupt or entry from user mode pushes a
// frame that IRET or the return to user mode ends. Instruction counts are the vCPU's
// between call and return. sym gives "func+0xoff" (just "func" at its first instruction).
class CallTreeBuilder {
 public:
  // spans: keep every completed frame (for chrome_trace()); costs memory per call.
  CallTreeBuilder(Symbolize sym, bool spans);
  void add(const Record& r);
  CallTree& tree() { return t_; }

 private:
  struct Frame {
    CallNode* node;
    std::string name;
    uint64_t start;
    uint16_t vcpu;
    bool entry;  // an interrupt or a kernel entry from user mode, not a call
    bool tail;   // entered by a jump to a function's first instruction: ends with its caller
  };
  void end_frame(const Frame& f, uint32_t pid, uint64_t icount);
  Symbolize sym_;
  bool keep_spans_;
  CallTree t_;
  std::map<uint64_t, std::vector<Frame>> stacks_;  // per thread
};
CallTree build_call_tree(const Log& log, const Symbolize& sym);

// The tree as text: one line per node, indented, "calls  instructions  name".
std::string format_call_tree(const CallTree& tree);

// Chrome trace-event JSON: one complete ("X") event per frame, ts and dur in instructions
// (shown as microseconds), pid the thread, tid the vCPU.
nlohmann::json chrome_trace(const CallTree& tree);

// Empty when j follows the trace-event format (traceEvents of events with name, ph, ts,
// pid, tid; dur >= 0 on X events; B and E balanced per thread); else what is wrong.
std::string check_chrome_trace(const nlohmann::json& j);

}  // namespace kvmrr::branches
