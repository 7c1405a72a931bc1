#include "branches_pass.h"

#include <stdexcept>

#include <fmt/format.h>

#include "kvmrr/error.h"
#include "kvmrr/syscall_table.h"
#include "pmem_pass.h"

namespace kvmrr {

namespace fs = std::filesystem;

fs::path branches_pass_dir(const Recording& rec) { return rec.dir() / "branches"; }

branches::Window entry_window(const Recording& rec, const std::string& name, uint64_t nth, uint64_t pid) {
  const SyscallInfo* info = syscall_by_name(name);
  if (!info) throw std::invalid_argument(fmt::format("no x86_64 system call is named '{}'", name));
  if (nth == 0) throw std::invalid_argument("entries count from 1");
  auto reader = rec.open_events();
  Event e;
  uint64_t seen = 0;
  std::optional<branches::Window> w;
  while (reader->next(e)) {
    std::optional<uint64_t> p = entry_pid(e);
    if (!p) continue;
    if (w) {
      if (*p == w->pid) {
        w->to_event = reader->index() + 1;
        return *w;
      }
      continue;
    }
    if (e.type == EventType::Syscall && e.args[arg::kVector] == info->nr && (!pid || *p == pid) && ++seen == nth) {
      // From the moment replay consumed the entry (its kernel code runs after that).
      w = branches::Window{reader->index() + 1, UINT64_MAX, *p};
    }
  }
  if (w) return *w;  // the thread's last entry: to the end
  throw std::invalid_argument(fmt::format("the recording has {} {} entr{}{}{}", seen, name, seen == 1 ? "y" : "ies",
                                          pid ? fmt::format(" by pid {}", pid) : "", fmt::format(", not {}", nth)));
}

std::vector<std::string> branches_pass_qemu_args(const Recording& rec, const Install& inst, const branches::Window& w) {
  fs::path out = branches_pass_dir(rec);
  prepare_pass_dir(out, inst.branches_plugin, inst.vmlinux, "branch");
  std::string arg =
      fmt::format("{},out={},vmlinux={}", inst.branches_plugin.string(), out.string(), inst.vmlinux.string());
  if (w.from_event) arg += fmt::format(",from={}", w.from_event);
  if (w.to_event != UINT64_MAX) arg += fmt::format(",to={}", w.to_event);
  if (w.pid) arg += fmt::format(",pid={}", w.pid);
  return {"-plugin", arg};
}

}  // namespace kvmrr
