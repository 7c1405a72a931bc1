// kvm-rr check: what a recording promises, checked from the log and the recorded kernel.
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "install.h"
#include "kvmrr/recording.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {
namespace {

namespace fs = std::filesystem;

// The instruction ending at rip is port I/O or HLT: IN/OUT with DX (EC-EF), HLT (F4), or
// IN/OUT with an 8-bit port (E4-E7 ib). A 16-bit operand prefix does not move these bytes.
bool follows_sync_instruction(const std::vector<uint8_t>& two_before) {
  if (two_before.size() != 2) return false;
  uint8_t last = two_before[1], first = two_before[0];
  return (last >= 0xEC && last <= 0xEF) || last == 0xF4 || (first >= 0xE4 && first <= 0xE7);
}

// The in-guest recorder's code: [__kvmrr_text_start, __kvmrr_text_end) since guest ABI 8;
// before, its kvmrr_ functions.
bool in_recorder(const Vmlinux& vmlinux, uint64_t rip) {
  auto start = vmlinux.symbol("__kvmrr_text_start"), end = vmlinux.symbol("__kvmrr_text_end");
  if (start && end) return rip >= *start && rip < *end;
  return vmlinux.symbolize(rip).rfind("kvmrr_", 0) == 0;
}

class CheckCommand : public Command {
 public:
  std::string_view name() const override { return "check"; }
  std::string_view summary() const override { return "check a recording's sync-point anchoring"; }
  std::string_view help() const override {
    return "usage: kvm-rr check [--vmlinux FILE] DIR\n\n"
           "Checks, from the recording and the recorded kernel alone, that every interrupt\n"
           "taken in kernel mode is anchored to a sync point: its RIP follows a port I/O or\n"
           "HLT instruction in vmlinux, and its per-vCPU sync-point number increases (0 only\n"
           "at the HLT of a vCPU halted when the recording started). Also checks that kernel\n"
           "entries from user mode come from user addresses, that the recorder switched\n"
           "vCPUs in kernel mode (deschedule, resume) only right after port I/O,\n"
           "that no vCPU started inside the guest's recorder (the snapshot must not catch one\n"
           "there), and that the event stream is complete. Prints one line per problem (event index, vCPU,\n"
           "RIP, symbol) and a summary line `check: OK ...` or `check: FAILED ...`.\n\n"
           "  --vmlinux FILE   the recorded kernel (default: build/kernel/vmlinux; its\n"
           "                   build-id must match the recording's)\n\n"
           "Exit status: 0 when every check holds, 1 when one fails, 3 for an unreadable\n"
           "recording or wrong vmlinux, 2 for usage.\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    static const std::vector<OptionSpec> kOptions = {{"--vmlinux", OptionSpec::Takes::Text}};
    ParsedOptions o;
    if (!parse_options(name(), args, kOptions, o, err)) return kExitUsage;
    if (o.positional.size() > 1) {
      fmt::print(err, "kvm-rr check: one recording at a time\n");
      return kExitUsage;
    }
    std::string dir = o.positional.empty() ? std::string() : o.positional[0];
    std::string vmlinux_path = o.text("--vmlinux");
    if (!vmlinux_option_ok(name(), vmlinux_path, err)) return kExitUsage;
    if (dir.empty()) {
      fmt::print(err, "{}", help());
      return kExitUsage;
    }
    try {
      Recording rec = Recording::open(dir);
      if (vmlinux_path.empty()) vmlinux_path = Install::locate().vmlinux.string();
      Vmlinux vmlinux = open_recorded_kernel(vmlinux_path, rec.meta().vmlinux_build_id);
      auto reader = rec.open_events();
      std::map<uint32_t, uint64_t> last_sync;
      std::set<uint32_t> started;  // vCPUs with an event other than a device write so far
      uint64_t kernel_interrupts = 0, entries = 0, problems = 0;
      auto problem = [&](uint64_t idx, const Event& e, const std::string& what) {
        if (++problems <= 50) {
          fmt::print(out, "#{} {} vcpu={} rip={:#x} <{}>: {}\n", idx, to_string(e.type), e.vcpu, e.rip,
                     vmlinux.symbolize(e.rip), what);
        }
      };
      Event e;
      while (reader->next(e)) {
        uint64_t idx = reader->index();
        bool first_of_vcpu = !started.count(e.vcpu);
        if (e.type != EventType::Dma && e.type != EventType::Pte) started.insert(e.vcpu);
        if (is_user_entry(e)) {
          entries++;
          if (e.rip >= 0x0000800000000000ull) problem(idx, e, "kernel entry from user mode at a kernel address");
          continue;
        }
        // Where the snapshot left a vCPU in kernel mode: anywhere but inside the recorder,
        // whose hooks replay feeds inputs at (a vCPU past one would miss its input).
        if (e.type == EventType::Resume && first_of_vcpu && e.nargs >= 1 && e.args[arg::kSwitchSync] == 0 &&
            in_recorder(vmlinux, e.rip)) {
          problem(idx, e, "the snapshot caught the vCPU inside the guest's recorder");
          continue;
        }
        // Where the recorder switched vCPUs in kernel mode: right after port I/O too (a resume
        // at sync point 0 is where the snapshot left the vCPU, anywhere else).
        if ((e.type == EventType::Deschedule || e.type == EventType::Resume) && e.nargs >= 1 &&
            (e.type == EventType::Deschedule || e.args[arg::kSwitchSync] != 0)) {
          auto bytes = vmlinux.read(e.rip - 2, 2);
          if (!bytes || !follows_sync_instruction(*bytes)) {
            problem(idx, e, "vCPU switch not right after port I/O");
          }
          continue;
        }
        if (e.type != EventType::Interrupt) continue;
        kernel_interrupts++;
        if (e.nargs < 3) {
          problem(idx, e, "kernel-mode interrupt without a sync-point number");
          continue;
        }
        uint64_t sync = e.args[arg::kIrqSync];
        auto bytes = vmlinux.read(e.rip - 2, 2);
        // Sync point 0 is the HLT of a vCPU halted when the recording started: only its
        // first event can be there.
        bool at_start_hlt = first_of_vcpu && bytes && (*bytes)[1] == 0xF4;
        if (sync == 0 ? !at_start_hlt : sync <= last_sync[e.vcpu]) {
          problem(idx, e, fmt::format("sync point {} does not follow {}", sync, last_sync[e.vcpu]));
        }
        last_sync[e.vcpu] = sync;
        if (!bytes) {
          problem(idx, e, "RIP is not in the kernel image");
        } else if (!follows_sync_instruction(*bytes)) {
          problem(
              idx, e,
              fmt::format("not right after port I/O or HLT (bytes before: {:02x} {:02x})", (*bytes)[0], (*bytes)[1]));
        }
      }
      if (!reader->end().complete) {
        fmt::print(out, "recording incomplete: {}\n", reader->end().reason);
        problems++;
      }
      fmt::print(out, "check: {} events={} kernel_entries={} kernel_mode_interrupts={} problems={}\n",
                 problems ? "FAILED" : "OK", reader->end().events, entries, kernel_interrupts, problems);
      return problems ? kExitFailure : kExitOk;
    } catch (const RecordingError& e) {
      fmt::print(err, "kvm-rr check: {}\n", e.what());
      return kExitBadRecording;
    }
  }
};

}  // namespace

std::unique_ptr<Command> make_check_command() { return std::make_unique<CheckCommand>(); }

}  // namespace kvmrr
