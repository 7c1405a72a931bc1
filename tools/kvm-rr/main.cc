// kvm-rr: record a Linux guest's kernel at KVM speed, replay it deterministically in TCG.
#include <iostream>

#include "command.h"
#include "kvmrr/build_info.h"
#include "kvmrr/format.h"

using namespace kvmrr;

static void usage(std::ostream& os) {
  os << "usage: kvm-rr COMMAND [ARGS...]\n"
        "       kvm-rr COMMAND --help\n\n"
        "Records the execution of a Linux guest's kernel and replays it deterministically.\n\n"
        "commands:\n";
  for (const auto& c : Command::all()) {
    os << "  " << c->name() << std::string(10 - std::min<size_t>(9, c->name().size()), ' ') << c->summary() << "\n";
  }
  os << "\noptions:\n  --version  print the version and recording format version\n";
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    usage(std::cout);
    return kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "kvm-rr " << KVMRR_VERSION << " (" << KVMRR_GIT << "), recording format " << kFormatVersion << "\n";
    return kExitOk;
  }
  Command* cmd = Command::find(args[0]);
  if (!cmd) {
    std::cerr << "kvm-rr: unknown command '" << args[0] << "'\n\n";
    usage(std::cerr);
    return kExitUsage;
  }
  args.erase(args.begin());
  if (wants_help(args)) {
    std::cout << cmd->help();
    return kExitOk;
  }
  return cmd->run(args, std::cout, std::cerr);
}
