#include "command.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ostream.h>

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
    v.push_back(make_syscalls_command());
    v.push_back(make_branches_command());
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

std::string ParsedOptions::text(std::string_view name, std::string fallback) const {
  auto it = given.find(name);
  return it == given.end() ? fallback : it->second;
}

uint64_t ParsedOptions::number(std::string_view name, uint64_t fallback) const {
  auto it = numbers.find(name);
  return it == numbers.end() ? fallback : it->second;
}

bool parse_options(std::string_view command, const std::vector<std::string>& args, const std::vector<OptionSpec>& table,
                   ParsedOptions& out, std::ostream& err, bool command_after_dashdash) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--" && command_after_dashdash) {
      out.dashdash = true;
      out.command.assign(args.begin() + long(i) + 1, args.end());
      return true;
    }
    if (a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    auto spec = std::find_if(table.begin(), table.end(), [&](const OptionSpec& o) { return o.name == a; });
    if (spec == table.end()) {
      fmt::print(err, "kvm-rr {}: unknown option {} (see kvm-rr {} --help)\n", command, a, command);
      return false;
    }
    if (spec->takes == OptionSpec::Takes::Nothing) {
      out.given[a] = "";
      continue;
    }
    if (i + 1 >= args.size()) {
      fmt::print(err, "kvm-rr {}: {} needs {}\n", command, a,
                 spec->takes == OptionSpec::Takes::Number ? "a number" : "a value");
      return false;
    }
    const std::string& v = args[++i];
    if (spec->takes == OptionSpec::Takes::Number) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        fmt::print(err, "kvm-rr {}: {} needs a number, not '{}'\n", command, a, v);
        return false;
      }
      out.numbers[a] = n;
    }
    out.given[a] = v;
  }
  return true;
}

bool vmlinux_option_ok(std::string_view command_name, const std::string& path, std::ostream& err) {
  std::error_code ec;
  if (path.empty() || std::filesystem::is_regular_file(path, ec)) return true;
  fmt::print(err, "kvm-rr {}: --vmlinux {}: no such file\n", command_name, path);
  return false;
}

}  // namespace kvmrr
