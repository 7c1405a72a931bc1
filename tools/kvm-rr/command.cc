#include "command.h"

namespace kvmrr {

const std::vector<std::unique_ptr<Command>>& Command::all() {
  static const std::vector<std::unique_ptr<Command>> commands = [] {
    std::vector<std::unique_ptr<Command>> v;
    v.push_back(make_run_command());
    v.push_back(make_record_command());
    v.push_back(make_dump_command());
    v.push_back(make_replay_command());
    v.push_back(make_pmem_check_command());
    v.push_back(make_check_command());
    return v;
  }();
  return commands;
}

Command* Command::find(std::string_view name) {
  for (const auto& c : all()) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

}  // namespace kvmrr
