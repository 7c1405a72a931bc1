#include "pmem_pass.h"

#include <regex>

#include <fmt/format.h>

#include "kvmrr/error.h"

namespace kvmrr {

namespace fs = std::filesystem;

std::optional<PmemRange> recorded_pmem_range(const std::vector<std::string>& argv) {
  static const std::regex memmap(R"((^|\s)memmap=(\d+)M!(\d+)M(\s|$))");
  for (size_t i = 0; i + 1 < argv.size(); i++) {
    std::smatch m;
    if (argv[i] == "-append" && std::regex_search(argv[i + 1], m, memmap)) {
      return PmemRange{std::stoull(m[3]) << 20, std::stoull(m[2]) << 20};
    }
  }
  return std::nullopt;
}

void prepare_pass_dir(const fs::path& out, const fs::path& plugin, const fs::path& vmlinux, const char* what) {
  std::error_code ec;
  if (!fs::exists(plugin, ec)) {
    throw RecordingError(RecordingError::Kind::Io, plugin,
                         fmt::format("the {} pass plugin is missing: run `make build`", what));
  }
  fs::remove_all(out, ec);
  fs::create_directories(out, ec);
  if (ec) throw RecordingError(RecordingError::Kind::Io, out, ec.message());
  if (out.string().find(',') != std::string::npos || vmlinux.string().find(',') != std::string::npos) {
    throw RecordingError(RecordingError::Kind::Io, out, "QEMU's -plugin cannot take a path with a comma");
  }
}

fs::path pmem_pass_dir(const Recording& rec) { return rec.dir() / "pmem"; }

std::vector<std::string> pmem_pass_qemu_args(const Recording& rec, const Install& inst) {
  // Recordings say where pmem was; those made before meta.json had the field have it only
  // in the kernel command line they booted with.
  std::optional<PmemRange> range;
  if (rec.meta().pmem) {
    range = PmemRange{rec.meta().pmem->base, rec.meta().pmem->size};
  } else {
    range = recorded_pmem_range(rec.meta().command_line);
  }
  if (!range) {
    throw RecordingError(RecordingError::Kind::Corrupt, rec.meta_path(),
                         "the recorded guest has no pmem region (no memmap= on its kernel command line)");
  }
  fs::path out = pmem_pass_dir(rec);
  prepare_pass_dir(out, inst.pmem_plugin, inst.vmlinux, "pmem");
  return {"-plugin", fmt::format("{},out={},base={:#x},size={:#x},vmlinux={}", inst.pmem_plugin.string(), out.string(),
                                 range->base, range->size, inst.vmlinux.string())};
}

}  // namespace kvmrr
