#include "spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <thread>
#include <utility>

namespace iobench::bench {
namespace {

// Descriptors the parent holds while it forks; whatever is left open is closed on the way out.
struct descriptors {
  std::array<int, 2> in{-1, -1};
  std::array<int, 2> out{-1, -1};
  int out_file = -1;
  int err_file = -1;

  descriptors() = default;
  descriptors(const descriptors&) = delete;
  descriptors& operator=(const descriptors&) = delete;
  ~descriptors() {
    for (int fd : {in[0], in[1], out[0], out[1], out_file, err_file}) {
      if (fd >= 0) ::close(fd);
    }
  }
  // Hands an end over to the caller: it is no longer closed here.
  static int release(int& fd) { return std::exchange(fd, -1); }
};

int open_for_child(const std::filesystem::path& p) {
  if (p.empty()) return -1;
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + p.string() + " for a child's output");
  return fd;
}

}  // namespace

child_process spawn_child(const spawn_options& o) {
  if (o.argv.empty()) throw std::invalid_argument("spawn_child: no program to run");
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Every descriptor is close-on-exec: only what dup2 puts on 0, 1 and 2 reaches the program,
  // and no other child inherits this one's pipes.
  descriptors fds;
  if (o.pipe_stdin && ::pipe2(fds.in.data(), O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  if (o.pipe_stdout && ::pipe2(fds.out.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  if (!o.pipe_stdout) fds.out_file = open_for_child(o.stdout_file);
  if (!o.stderr_to_stdout) fds.err_file = open_for_child(o.stderr_file);
  const int child_in = fds.in[0];
  const int child_out = o.pipe_stdout ? fds.out[1] : fds.out_file;
  const int child_err = o.stderr_to_stdout ? child_out : fds.err_file;

  cpu_set_t cpus;  // prepared here: the child may only make async-signal-safe calls
  CPU_ZERO(&cpus);
  for (int c : o.cpus) CPU_SET(c, &cpus);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls from here on. If the parent died before prctl took effect,
    // the signal will never come: leave rather than run unsupervised.
    ::prctl(PR_SET_PDEATHSIG, o.death_signal);
    if (::getppid() != parent) ::_exit(1);
    if (!o.cpus.empty() && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) ::_exit(126);
    if (child_in >= 0) ::dup2(child_in, STDIN_FILENO);
    if (child_out >= 0) ::dup2(child_out, STDOUT_FILENO);
    if (child_err >= 0) ::dup2(child_err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return {pid, descriptors::release(fds.in[1]), descriptors::release(fds.out[0])};
}

void reap_child(pid_t pid, std::chrono::milliseconds grace) {
  const auto until = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

}  // namespace iobench::bench
