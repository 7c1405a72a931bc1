#include "guest_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "guest_machine.h"

namespace kvmrr {

namespace {

using Clock = std::chrono::steady_clock;

// Handles one console line: forwards it unless it is the status report.
void on_line(const std::string& line, GuestRunResult& r, std::ostream& console) {
  std::string_view l = line;
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  if (auto p = l.find(kGuestStatusMarker); p != std::string_view::npos) {
    try {
      r.guest_status = std::stoi(std::string(l.substr(p + kGuestStatusMarker.size())));
      // Output that did not end in a newline shares the marker's line: keep it.
      if (p > 0) console << l.substr(0, p) << '\n' << std::flush;
      return;
    } catch (const std::exception&) {
      // not ours after all: print it
    }
  }
  if (l.find("Kernel panic") != std::string_view::npos) r.kernel_panic = true;
  console << l << '\n';
  console.flush();
}

}  // namespace

GuestRunResult run_guest(const std::vector<std::string>& argv, const GuestRunOptions& options, std::ostream& console,
                         std::ostream& progress) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
  pid_t parent = getpid();
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(pipefd[1], 1);
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    fprintf(stderr, "kvm-rr: cannot run %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  close(pipefd[1]);

  GuestRunResult r;
  std::string partial;
  auto last_output = Clock::now();
  auto last_beat = last_output;
  char buf[4096];
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    int n = poll(&p, 1, 1000);
    auto now = Clock::now();
    if (n > 0) {
      ssize_t got = read(pipefd[0], buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // QEMU closed its stdout: it is exiting
      last_output = now;
      partial.append(buf, size_t(got));
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        on_line(partial.substr(0, nl), r, console);
        partial.erase(0, nl + 1);
      }
    }
    if (options.timeout.count() > 0 && now - start > options.timeout) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (now - last_output > options.heartbeat && now - last_beat > options.heartbeat) {
      last_beat = now;
      fmt::print(progress, "kvm-rr: guest running, {:.0f} s elapsed\n",
                 std::chrono::duration<double>(now - start).count());
      progress.flush();
    }
  }
  if (!partial.empty()) on_line(partial, r, console);
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) r.qemu_exit = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.qemu_signal = WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace kvmrr
