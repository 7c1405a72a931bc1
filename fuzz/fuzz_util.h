#pragma once
// What the harnesses share: the parsers that read files get the input through one file per
// process in /dev/shm (memory, not disk), rewritten for each input.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace kvmrr::fuzz {

inline std::filesystem::path input_file(const char* name) {
  static std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::path("/dev/shm") / ("kvmrr-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir / name;
}

inline std::filesystem::path write_input(const char* name, const uint8_t* data, size_t size) {
  std::filesystem::path p = input_file(name);
  FILE* f = fopen(p.c_str(), "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return p;
}

}  // namespace kvmrr::fuzz
