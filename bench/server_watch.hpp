// What the suite does when its server goes away mid-run. A server that exits or is killed resets
// or refuses every connection, so the batch running then fails on its own; one that hangs (stopped,
// deadlocked) leaves every request waiting for its timeout, batch after batch, for hours. The
// watch tells the run which: a thread checks the own mock_server child for its end, and when
// nothing has finished for kQuietBeforeProbe (no request, no batch: Options::completed and the
// runners bump progress()) asks /healthz, which a live server answers however loaded it is. No
// answer within kProbeTimeout means the server hangs (unless the own child ends on its own
// within a moment: one that got SIGTERM refuses connections while it drains): the own child is
// killed then, so that what waits on it fails at once. From then on the run's remaining benchmarks
// are errored with one line saying why, without trying the server again.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "server_process.hpp"

namespace iobench::bench {

/// How long nothing may finish before the watch asks the server whether it still answers.
inline constexpr std::chrono::seconds kQuietBeforeProbe{5};
/// How long the server has to answer /healthz before it counts as hung.
inline constexpr std::chrono::seconds kProbeTimeout{5};

/// Watches the server a suite run measures (see the file note). Thread-safe.
class server_watch {
 public:
  /// Starts watching `base_url`; `own` is the run's own mock_server child (nullptr for --server),
  /// which the watch may kill. NOTE: `own` must outlive the watch.
  server_watch(std::string base_url, server_process* own);
  ~server_watch();
  server_watch(const server_watch&) = delete;
  server_watch& operator=(const server_watch&) = delete;

  /// Bumped (relaxed) by whoever sees a request or a batch finish: the sign of life that spares
  /// the server a probe. Pass it as Options::completed.
  std::atomic<std::size_t>* progress() { return &progress_; }

  /// Threads the watch adds to this process (its one, for as long as it lives): what a model's
  /// thread count leaves out.
  static constexpr double threads() { return 1; }

  /// Why the server is gone ("mock_server was killed by SIGKILL"); empty while it is not.
  std::string gone();

  /// After a request to the server failed: decides now whether the server is gone (its child
  /// ended, or it does not answer /healthz within kProbeTimeout) and returns why; empty when it
  /// still answers.
  std::string check_now();

 private:
  void watch();
  // Probes the server and records it as gone if it does not answer; returns gone().
  std::string probe();
  void record(std::string why);

  std::string base_url_;
  server_process* own_;
  std::atomic<std::size_t> progress_{0};
  std::mutex mutex_;
  std::string gone_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace iobench::bench
