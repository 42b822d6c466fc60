#include "interrupt.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <mutex>

namespace iobench::bench::on_interrupt {
namespace {

// A child gets this long to drain after SIGTERM (mock_server lets in-flight requests finish;
// the suite's delays are at most seconds) before it is killed.
constexpr int kChildGraceMs = 2000;
constexpr int kPollMs = 10;
constexpr std::size_t kSlots = 16;
constexpr std::size_t kPathMax = 256;

enum kind : int { kFree = 0, kChild, kFile, kDir };

// Filled by the registering thread, then published by storing `what` (release); the handler
// reads `what` (acquire) and trusts the rest. Fixed storage: the handler must not allocate.
struct slot {
  std::atomic<int> what{kFree};
  pid_t pid = -1;
  std::array<char, kPathMax> path{};
};

std::array<slot, kSlots> g_slots;
std::mutex g_register;  // registrations come from the suite's thread; this keeps them simple

void for_each(int wanted, void (*act)(slot&)) {
  for (auto& s : g_slots) {
    if (s.what.load(std::memory_order_acquire) == wanted) act(s);
  }
}

void stop(slot& s) {
  if (::kill(s.pid, SIGTERM) != 0) return;
  int status = 0;
  for (int waited = 0; waited < kChildGraceMs; waited += kPollMs) {
    if (::waitpid(s.pid, &status, WNOHANG) != 0) return;  // reaped, or not ours any more
    const timespec pause{0, kPollMs * 1'000'000L};
    ::nanosleep(&pause, nullptr);
  }
  ::kill(s.pid, SIGKILL);
  ::waitpid(s.pid, &status, 0);
}

void on_signal(int sig) {
  const int saved = errno;
  for_each(kChild, stop);
  for_each(kFile, [](slot& s) { ::unlink(s.path.data()); });
  for_each(kDir, [](slot& s) { ::rmdir(s.path.data()); });
  errno = saved;
  // Die of the signal itself, so the caller (a shell, bench.sh) sees an interrupted run.
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const int sig : {SIGINT, SIGTERM}) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      // A shell starts background jobs with SIGINT ignored: that choice stands.
      if (old.sa_handler == SIG_IGN) continue;
      struct sigaction sa {};
      sa.sa_handler = on_signal;
      sigemptyset(&sa.sa_mask);
      sigaddset(&sa.sa_mask, SIGINT);
      sigaddset(&sa.sa_mask, SIGTERM);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

token add(int what, pid_t pid, const std::filesystem::path& path) {
  if (path.native().size() >= kPathMax) return -1;
  install_once();
  std::lock_guard lock(g_register);
  for (std::size_t i = 0; i < g_slots.size(); ++i) {
    slot& s = g_slots[i];
    if (s.what.load(std::memory_order_relaxed) != kFree) continue;
    s.pid = pid;
    s.path.fill('\0');
    std::memcpy(s.path.data(), path.c_str(), path.native().size());
    s.what.store(what, std::memory_order_release);
    return static_cast<token>(i);
  }
  return -1;
}

}  // namespace

token stop_child(pid_t pid) { return add(kChild, pid, {}); }

token remove_file(const std::filesystem::path& path) { return add(kFile, -1, path); }

token remove_dir(const std::filesystem::path& path) { return add(kDir, -1, path); }

void forget(token t) {
  if (t < 0 || static_cast<std::size_t>(t) >= g_slots.size()) return;
  std::lock_guard lock(g_register);
  g_slots[static_cast<std::size_t>(t)].what.store(kFree, std::memory_order_release);
}

}  // namespace iobench::bench::on_interrupt
