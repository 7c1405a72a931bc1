#include "kvmrr/branch_report.h"

#include <set>
#include <vector>

#include <fmt/format.h>

namespace kvmrr::branches {

std::string format_record(const Record& r, const Symbolize& sym) {
  auto where = [&](uint64_t a) { return a ? sym(a) : std::string("user"); };
  std::string from = r.kind == Kind::Interrupt && r.from == 0 ? "?" : where(r.from);
  return fmt::format("#{} vcpu={} pid={} {} {} -> {}", r.event, r.vcpu, r.pid, to_string(r.kind), from, where(r.to));
}

namespace {
std::string function_of(const std::string& symbolized) { return symbolized.substr(0, symbolized.find('+')); }
}  // namespace

CallTreeBuilder::CallTreeBuilder(Symbolize sym, bool spans) : sym_(std::move(sym)), keep_spans_(spans) {}

void CallTreeBuilder::end_frame(const Frame& f, uint32_t pid, uint64_t icount) {
  uint64_t n = icount >= f.start ? icount - f.start : 0;
  f.node->instructions += n;
  if (keep_spans_) t_.spans.push_back({f.name, pid, f.vcpu, f.start, n});
}

void CallTreeBuilder::add(const Record& r) {
  auto function = [&](uint64_t a) { return function_of(sym_(a)); };
  uint64_t key = r.pid ? r.pid : (uint64_t(1) << 32) | r.vcpu;
  std::vector<Frame>& s = stacks_[key];
  CallNode* top = s.empty() ? &t_.root : s.back().node;
  auto push = [&](std::string name, bool entry, bool tail = false) {
    auto& child = top->children[name];
    if (!child) child = std::make_unique<CallNode>();
    (entry ? child->entries : tail ? child->tail_calls : child->calls)++;
    s.push_back({child.get(), std::move(name), r.icount, r.vcpu, entry, tail});
  };
  auto pop = [&]() {
    // Instruction counts are one vCPU's: a frame that ended on another vCPU counts none.
    end_frame(s.back(), r.pid, r.vcpu == s.back().vcpu ? r.icount : s.back().start);
    s.pop_back();
  };
  switch (r.kind) {
    case Kind::Call:
      t_.call_records++;
      push(function(r.to), false);
      break;
    case Kind::Interrupt: push("[interrupt] " + function(r.to), true); break;
    case Kind::Entry: push("[entry] " + function(r.to), true); break;
    case Kind::Return:
      while (!s.empty() && s.back().tail) pop();
      if (s.empty() || s.back().entry) {
        t_.unmatched_returns++;
      } else {
        pop();
      }
      break;
    case Kind::Iret:
    case Kind::ToUser:
      // Ends the innermost interrupt or entry (and calls left open inside it).
      while (!s.empty()) {
        bool entry = s.back().entry;
        pop();
        if (entry && r.kind == Kind::Iret) break;
      }
      break;
    case Kind::Jump: {
      // A tail call: a jump to another function's first instruction.
      std::string to = sym_(r.to);
      if (to.find('+') == std::string::npos && to.rfind("0x", 0) != 0 && function(r.from) != to) {
        t_.tail_records++;
        push(to, false, true);
      }
      break;
    }
  }
}

CallTree build_call_tree(const Log& log, const Symbolize& sym) {
  CallTreeBuilder b(sym, true);
  for (const Record& r : log.records) b.add(r);
  return std::move(b.tree());
}

namespace {

void format_node(const CallNode& n, const std::string& name, int depth, std::string& out) {
  if (depth >= 0) {
    std::string count = n.calls        ? fmt::format("{}", n.calls)
                        : n.tail_calls ? fmt::format("{}t", n.tail_calls)
                                       : fmt::format("{}*", n.entries);
    out += fmt::format("{:>8} {:>12}  {}{}\n", count, n.instructions, std::string(size_t(depth) * 2, ' '), name);
  }
  for (const auto& [child_name, child] : n.children) format_node(*child, child_name, depth + 1, out);
}

}  // namespace

std::string format_call_tree(const CallTree& tree) {
  std::string out = fmt::format("{:>8} {:>12}  {}\n", "calls", "instructions",
                                "function (t = tail calls, * = interrupts or entries)");
  format_node(tree.root, "", -1, out);
  out += fmt::format("{} calls, {} tail calls; {} returns from calls made before the window\n", tree.call_records,
                     tree.tail_records, tree.unmatched_returns);
  return out;
}

nlohmann::json chrome_trace(const CallTree& tree) {
  nlohmann::json events = nlohmann::json::array();
  std::set<std::pair<uint32_t, uint16_t>> threads;
  for (const CallTree::Span& s : tree.spans) {
    events.push_back({{"name", s.name},
                      {"ph", "X"},
                      {"ts", s.start},
                      {"dur", s.length},
                      {"pid", s.pid},
                      {"tid", s.vcpu},
                      {"cat", "kernel"}});
    threads.insert({s.pid, s.vcpu});
  }
  for (const auto& [pid, vcpu] : threads) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"ts", 0},
                      {"pid", pid},
                      {"tid", vcpu},
                      {"args", {{"name", fmt::format("vCPU {}", vcpu)}}}});
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ns"},
          {"otherData", {{"clock", "ts and dur count kernel instructions, not time"}}}};
}

std::string check_chrome_trace(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("traceEvents") || !j["traceEvents"].is_array()) {
    return "not an object with a traceEvents array";
  }
  static const std::set<std::string> kPhases = {"B", "E", "X", "i", "I", "C", "b", "n", "e", "s",
                                                "t", "f", "P", "O", "N", "D", "M", "R", "c"};
  std::map<std::pair<int64_t, int64_t>, int64_t> open;
  size_t i = 0;
  for (const auto& e : j["traceEvents"]) {
    auto bad = [&](const std::string& why) { return fmt::format("event {}: {}", i, why); };
    if (!e.is_object()) return bad("not an object");
    if (!e.contains("ph") || !e["ph"].is_string() || !kPhases.count(e["ph"].get<std::string>())) return bad("bad ph");
    std::string ph = e["ph"];
    if (!e.contains("name") || !e["name"].is_string()) return bad("no name");
    if (!e.contains("ts") || !e["ts"].is_number() || e["ts"].get<double>() < 0) return bad("no ts >= 0");
    for (const char* k : {"pid", "tid"}) {
      if (!e.contains(k) || !e[k].is_number_integer()) return bad(fmt::format("no integer {}", k));
    }
    if (ph == "X" && (!e.contains("dur") || !e["dur"].is_number() || e["dur"].get<double>() < 0)) {
      return bad("X without dur >= 0");
    }
    auto thread = std::make_pair(e["pid"].get<int64_t>(), e["tid"].get<int64_t>());
    if (ph == "B") open[thread]++;
    if (ph == "E" && --open[thread] < 0) return bad("E without B");
    i++;
  }
  if (j.contains("displayTimeUnit") && j["displayTimeUnit"] != "ms" && j["displayTimeUnit"] != "ns") {
    return "displayTimeUnit is neither ms nor ns";
  }
  return "";
}

}  // namespace kvmrr::branches
