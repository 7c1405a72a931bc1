// kvm-rr dump: what a recording holds, and whether all of it is readable.
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "command.h"
#include "install.h"
#include "kvmrr/guest-abi.h"
#include "kvmrr/recording.h"
#include "kvmrr/registers.h"
#include "kvmrr/vmlinux.h"

namespace kvmrr {
namespace {

namespace fs = std::filesystem;

// The vmlinux to symbolize with: the one given (which must be the recorded kernel), else
// the build's own when it is the recorded kernel, else none (with a note why).
std::unique_ptr<Vmlinux> kernel_for(const Recording& rec, const std::string& given, std::ostream& err) {
  const std::string& want = rec.meta().vmlinux_build_id;
  if (!given.empty()) return std::make_unique<Vmlinux>(open_recorded_kernel(given, want));
  std::error_code ec;
  fs::path own = Install::locate().vmlinux;
  if (want.empty() || !fs::exists(own, ec)) return nullptr;
  try {
    return std::make_unique<Vmlinux>(open_recorded_kernel(own, want));
  } catch (const RecordingError& e) {
    fmt::print(err, "kvm-rr dump: not symbolizing: {}; pass --vmlinux\n", e.what());
  }
  return nullptr;
}

// An event's payload for --data: user registers of an entry from user mode (struct pt_regs
// order, as the guest logs them), the vCPU's registers where the recorder checked them, or
// the bytes themselves (user reads, DMA, page-table entries: the first 64).
std::string describe_data(const Event& e) {
  static_assert(kPtRegsNames.size() == KVMRR_USER_REGS);
  std::string s;
  if (is_user_entry(e) && e.data.size() == KVMRR_USER_REGS * 8) {
    for (int i = 0; i < KVMRR_USER_REGS; i++) {
      uint64_t v;
      memcpy(&v, e.data.data() + i * 8, 8);
      s += fmt::format("{}{}={:#x}", i ? " " : "", kPtRegsNames[i], v);
    }
  } else if (e.digest) {
    if (std::optional<Regs> r = unpack_regs(e.data)) {
      for (int i = 0; i < 16; i++) s += fmt::format("{}={:#x} ", kGprNames[i], r->gpr[i]);
      s += fmt::format("rip={:#x} rflags={:#x} cpl={}", r->rip, r->rflags, r->cpl);
    }
  }
  if (s.empty() && !e.data.empty()) {
    size_t n = std::min<size_t>(e.data.size(), 64);
    for (size_t i = 0; i < n; i++) s += fmt::format("{:02x}", e.data[i]);
    if (n < e.data.size()) s += fmt::format(" ... ({} more bytes)", e.data.size() - n);
  }
  return s;
}

// The guest TSC's rate in kHz when the front end told the guest (under KVM), else 0.
uint64_t told_tsc_khz(const RecordingMeta& m) {
  for (const std::string& arg : m.command_line) {
    size_t at = arg.find("tsc_early_khz=");
    if (at != std::string::npos) return std::strtoull(arg.c_str() + at + strlen("tsc_early_khz="), nullptr, 10);
  }
  return 0;
}

// The first and last TSC values the guest kernel read (rdtsc events), for the clock ratio.
struct TscSpan {
  std::optional<uint64_t> first, last;
  void add(const Event& e) {
    if (e.type != EventType::Rdtsc) return;
    uint64_t v = e.args[arg::kValue];
    if (!first) first = v;
    last = v;
  }
};

// The guest's clock while recording: the TSC when the front end told the guest its frequency
// (under KVM; it then advances with the host whatever the recorder delays), else whatever the
// guest chose, often jiffies, which advance only as timer ticks reach the guest. The ratio is
// measured, not assumed: how far the TSC the guest kernel read advanced, against the host
// seconds of the recording (a little under 1 when the guest kept host time: the first and
// last reads are inside the recording, not at its ends).
void print_guest_clock(std::ostream& out, const RecordingMeta& m, const RecordCounters& c, const TscSpan& tsc) {
  uint64_t khz = told_tsc_khz(m);
  if (!khz) {
    fmt::print(out,
               "guest_clock: not told the TSC's rate: jiffies if it found no other, advancing with the ticks above\n");
    return;
  }
  fmt::print(out, "guest_clock: tsc (tsc_early_khz={}), with the host's\n", khz);
  if (tsc.first && *tsc.last > *tsc.first && c.host_seconds > 0) {
    double guest_seconds = double(*tsc.last - *tsc.first) / (double(khz) * 1000.0);
    fmt::print(out, "guest_clock_ratio: {:.3f} (the guest kernel's TSC reads span {:.3f} s of {:.3f} host s)\n",
               guest_seconds / c.host_seconds, guest_seconds, c.host_seconds);
  }
}

// What the recorder counted (meta.json "counters"), with the ratios that judge a recording's
// cost: exits per kernel entry, and interrupts and timer ticks per host second (and per vCPU:
// the guest's tick rate, 100 Hz for kvm-rr's kernel, when nothing starves it).
void print_counters(std::ostream& out, const RecordCounters& c, const RecordingMeta& m, const TscSpan& tsc) {
  auto per_second = [&](uint64_t n) { return c.host_seconds > 0 ? n / c.host_seconds : 0.0; };
  fmt::print(out, "host_seconds: {:.3f}\n", c.host_seconds);
  fmt::print(out, "kernel_entries: {} (syscalls {}, exceptions {}, interrupts in user mode {})\n", c.kernel_entries(),
             c.syscalls, c.exceptions, c.user_interrupts);
  fmt::print(out, "interrupts_per_second: {:.1f}\n", per_second(c.interrupts));
  fmt::print(out, "timer_interrupts_per_second: {:.1f}\n", per_second(c.timer_interrupts));
  if (m.smp) fmt::print(out, "timer_interrupts_per_vcpu_second: {:.1f}\n", per_second(c.timer_interrupts) / m.smp);
  print_guest_clock(out, m, c, tsc);
  std::string reasons;
  for (const auto& [reason, n] : c.exits) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reason, n);
  fmt::print(out, "exits: {}{}\n", c.total_exits(), reasons.empty() ? "" : " (" + reasons + ")");
  if (c.kernel_entries()) {
    fmt::print(out, "exits_per_kernel_entry: {:.3f}\n", double(c.total_exits()) / c.kernel_entries());
  }
  fmt::print(out, "bql_handoffs_per_second: {:.1f}\n", per_second(c.bql_handoffs));
  if (c.token_handoffs) fmt::print(out, "token_handoffs_per_second: {:.1f}\n", per_second(c.token_handoffs));
}

class DumpCommand : public Command {
 public:
  std::string_view name() const override { return "dump"; }
  std::string_view summary() const override { return "print what a recording holds"; }
  std::string_view help() const override {
    return "usage: kvm-rr dump [--events [--data]] [--vmlinux FILE] DIR\n\n"
           "Reads recording DIR and prints one line per event type, `<type>: <count>`, then\n"
           "dma_bytes, the total event count, the stream's size on disk and before\n"
           "compression (stream_bytes, raw_bytes), what the recorder counted (host seconds,\n"
           "kernel entries, interrupts and timer ticks per second, KVM exits by reason and\n"
           "per kernel entry, hand-overs to QEMU's main loop) and whether the recording is\n"
           "complete.\n\n"
           "  --events   first list every event: index, type, vCPU, RIP and its fields;\n"
           "             kernel RIPs are symbolized with the recorded kernel's vmlinux\n"
           "  --data     with --events, each event's payload on the next line: user\n"
           "             registers of kernel entries (syscall arguments in rdi, rsi, rdx,\n"
           "             r10), the vCPU's registers where the recorder checked them, bytes\n"
           "             read from user memory or written by devices (the first 64, hex)\n"
           "  --vmlinux FILE   the recorded kernel's vmlinux (default: build/kernel/vmlinux\n"
           "             when its build-id matches the recording's)\n\n"
           "Exit status: 0 for a complete, valid recording; 3 when it is incomplete (a\n"
           "recorder that was killed: the readable prefix is still listed), corrupt, or\n"
           "from another format version (the error names the file and offset); 2 for usage.\n";
  }

  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) override {
    static const std::vector<OptionSpec> kOptions = {{"--events"}, {"--data"}, {"--vmlinux", OptionSpec::Takes::Text}};
    ParsedOptions o;
    if (!parse_options(name(), args, kOptions, o, err)) return kExitUsage;
    bool list = o.has("--events"), data = o.has("--data");
    std::string vmlinux_arg = o.text("--vmlinux");
    if (!vmlinux_option_ok(name(), vmlinux_arg, err)) return kExitUsage;
    if (o.positional.size() > 1) {
      fmt::print(err, "kvm-rr dump: one recording at a time\n");
      return kExitUsage;
    }
    std::string dir = o.positional.empty() ? std::string() : o.positional[0];
    if (data && !list) {
      fmt::print(err, "kvm-rr dump: --data goes with --events\n");
      return kExitUsage;
    }
    if (dir.empty()) {
      fmt::print(err, "{}", help());
      return kExitUsage;
    }

    std::map<EventType, uint64_t> counts;
    uint64_t dma_bytes = 0;
    std::optional<RecordingError> failure;
    StreamEnd end;
    std::optional<RecordCounters> counters;
    RecordingMeta meta;
    TscSpan tsc;
    try {
      Recording rec = Recording::open(dir);
      counters = rec.meta().counters;
      meta = rec.meta();
      std::unique_ptr<Vmlinux> vmlinux;
      if (list) vmlinux = kernel_for(rec, vmlinux_arg, err);
      auto reader = rec.open_events();
      Event e;
      try {
        while (reader->next(e)) {
          counts[e.type]++;
          tsc.add(e);
          if (e.type == EventType::Dma) dma_bytes += e.data.size();
          if (list) fmt::print(out, "#{} {}\n", reader->index(), describe(e, vmlinux.get()));
          if (data && !e.data.empty()) fmt::print(out, "    {}\n", describe_data(e));
        }
      } catch (const RecordingError& error) {
        failure = error;  // report the prefix read so far, then the error
      }
      end = reader->end();
      if (failure) end.events = reader->end().events;
    } catch (const RecordingError& error) {
      fmt::print(err, "kvm-rr dump: {}\n", error.what());
      return kExitBadRecording;
    }

    for (const EventTypeInfo& t : all_event_types()) {
      fmt::print(out, "{}: {}\n", t.name, counts[t.type]);
    }
    fmt::print(out, "dma_bytes: {}\n", dma_bytes);
    fmt::print(out, "events: {}\n", end.events);
    // The event stream on disk (compressed) and its events before compression.
    fmt::print(out, "stream_bytes: {}\n", end.file_bytes);
    fmt::print(out, "raw_bytes: {}\n", end.raw_bytes);
    if (counters) print_counters(out, *counters, meta, tsc);
    if (failure) {
      fmt::print(out, "status: {}\n", to_string(failure->kind()));
      fmt::print(err, "kvm-rr dump: {} (the {} events before it were read)\n", failure->what(), end.events);
      return kExitBadRecording;
    }
    if (!end.complete) {
      fmt::print(out, "status: incomplete\n");
      fmt::print(err, "kvm-rr dump: {}/events: incomplete recording: {}; {} events readable\n", dir, end.reason,
                 end.events);
      return kExitBadRecording;
    }
    fmt::print(out, "status: complete\n");
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> make_dump_command() { return std::make_unique<DumpCommand>(); }

}  // namespace kvmrr
