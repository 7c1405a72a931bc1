// Test-only: copies a recording, changing one value of one event, so tests can show that
// check (and later replay) notice. Not installed.
//
//   kvmrr_mutate_recording SRC DST --event N (--rip V | --arg I V | --data-byte I V)
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "kvmrr/recording.h"

using namespace kvmrr;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 7) {
    std::cerr << "usage: " << argv[0] << " SRC DST --event N (--rip V | --arg I V | --data-byte I V)\n";
    return 2;
  }
  fs::path src = argv[1], dst = argv[2];
  uint64_t target = std::stoull(argv[4], nullptr, 0);
  std::string what = argv[5];
  try {
    Recording in = Recording::open(src);
    Recording out = Recording::create(dst, in.meta());
    fs::copy_file(in.snapshot_path(), out.snapshot_path());
    auto reader = in.open_events();
    auto writer = out.create_events();
    Event e;
    bool done = false;
    while (reader->next(e)) {
      if (reader->index() == target) {
        if (what == "--rip") {
          e.rip = std::stoull(argv[6], nullptr, 0);
        } else if (what == "--arg" && argc > 7) {
          size_t i = std::stoul(argv[6]);
          if (i >= e.nargs) throw std::runtime_error("event has no such argument");
          e.args[i] = std::stoull(argv[7], nullptr, 0);
        } else if (what == "--data-byte" && argc > 7) {
          size_t i = std::stoul(argv[6]);
          if (i >= e.data.size()) throw std::runtime_error("event has no such data byte");
          e.data[i] = uint8_t(std::stoul(argv[7], nullptr, 0));
        } else {
          throw std::runtime_error("unknown mutation " + what);
        }
        done = true;
      }
      writer->append(e);
    }
    if (!done) throw std::runtime_error("no event " + std::to_string(target));
    if (reader->end().complete) writer->close();
  } catch (const std::exception& e) {
    std::cerr << "mutate_recording: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
