// iobench-fetch's watch over a running batch: Ctrl-C (SIGINT, or SIGTERM) prints, as hey does, a
// summary of the requests that finished (an open loop's in open-loop terms, from what was sent
// and what finished), and exits 128 + the signal (130). The fetchers are
// synchronous, so the batch cannot be asked to stop; instead SIGINT and SIGTERM are blocked in
// every thread (the fetchers' threads inherit the mask) and a watcher thread takes them with
// sigtimedwait, where it may do anything a thread may: it summarises what the fetcher has
// reported so far (Options::observer) and ends the process with _exit, abandoning the requests
// still in flight. Whichever comes first, the batch's end or the signal, prints the one summary.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "impls/fetcher.hpp"
#include "impls/open_loop.hpp"
#include "impls/summary.hpp"

namespace iobench::bench {

/// How often a terminal sees the progress line.
inline constexpr std::chrono::seconds kProgressEvery{1};

// Every finished request's Outcome (detail dropped), and in an open loop every send, for the
// summary of an interrupted batch.
class finished_log final : public outcome_observer {
 public:
  // NOTE: reserves room for `n` (address space only until requests finish), so recording never
  // reallocates inside the measurement; `open_loop`: room for n sends too.
  explicit finished_log(std::size_t n, bool open_loop = false) {
    outcomes_.reserve(n);
    if (open_loop) sends_.reserve(n);
  }

  void finished(const Outcome& outcome) noexcept override {
    std::lock_guard lock(mutex_);
    if (outcomes_.size() == outcomes_.capacity()) return;  // never: one report per request
    Outcome& o = outcomes_.emplace_back();
    o.status = outcome.status;
    o.body_bytes = outcome.body_bytes;
    o.start = outcome.start;
    o.end = outcome.end;
    o.error = outcome.error;
    o.intended = outcome.intended;
    o.sent = outcome.sent;
    o.finished = outcome.finished;
  }

  void sent(Clock::time_point intended, Clock::time_point at) noexcept override {
    std::lock_guard lock(mutex_);
    if (sends_.size() < sends_.capacity()) sends_.push_back({intended, at});
  }

  /// Requests that finished so far (an open loop's cut-off ones are not finished).
  std::size_t finished_count() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(outcomes_.begin(), outcomes_.end(),
                                                  [](const Outcome& o) { return o.finished; }));
  }

  /// The summary of what finished so far, over `wall`. Summarised in place: the log may be
  /// gigabytes, and this is the last thing the process does.
  batch_summary summarize_finished(Clock::duration wall) const {
    std::lock_guard lock(mutex_);
    return summarize(outcomes_, wall);
  }

  /// An open-loop run of `schedule` (offering `rate` for `duration`) as far as it went: what
  /// finished, what is still in flight, what was never sent (rebuild_interrupted).
  open_loop_summary summarize_open_so_far(std::span<const Clock::time_point> schedule,
                                          std::chrono::nanoseconds duration, double rate) const {
    std::lock_guard lock(mutex_);
    return summarize_open(rebuild_interrupted(schedule, outcomes_, sends_), schedule, duration,
                          rate);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Outcome> outcomes_;
  std::vector<send_record> sends_;
};

/// Prints the summary of an interrupted batch from its log, over `wall` (from the batch's start).
using partial_printer = std::function<void(const finished_log& log, Clock::duration wall)>;

// Takes SIGINT and SIGTERM for the whole process (see the file note), and shows progress on a
// terminal. Exactly one summary is printed: by the batch's end or by the signal, whichever
// claims it first.
class batch_watch {
 public:
  /// `requests`: how many the batch has; `print_partial` prints the summary of what finished
  /// (and how many did not) when a signal ends the batch.
  /// `open_loop`: the batch is an open-loop run (its sends are logged too).
  batch_watch(std::size_t requests, partial_printer print_partial, bool open_loop = false)
      : requests_(requests), print_partial_(std::move(print_partial)), log_(requests, open_loop) {}
  ~batch_watch() { finish(); }
  batch_watch(const batch_watch&) = delete;
  batch_watch& operator=(const batch_watch&) = delete;

  /// Blocks the signals in this thread, so every thread started from now on inherits the mask.
  /// REQUIRES: called before any other thread exists.
  static void block_signals() {
    const sigset_t set = signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  /// Wires the fetcher's options to this watch and starts the watcher thread.
  void start(Options& fetch) {
    fetch.completed = &completed_;
    fetch.observer = &log_;
    thread_ = std::thread([this] { watch(); });
  }

  /// The batch starts now (its wall time counts from here).
  void batch_started() { started_ns_.store(Clock::now().time_since_epoch().count()); }

  /// True when the caller may print the summary; false when a signal has claimed it (and the
  /// process is about to end).
  bool claim_summary() {
    bool expected = false;
    return claimed_.compare_exchange_strong(expected, true);
  }

  /// Stops the watcher (clearing its progress line). A signal from now on stays blocked.
  void finish() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  static sigset_t signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
  }

  void watch() {
    const sigset_t set = signals();
    const auto t0 = Clock::now();
    const bool progress = isatty(STDERR_FILENO) != 0;
    bool shown = false;
    while (!stop_.load()) {
      const timespec tick{0, 100'000'000};
      if (const int sig = sigtimedwait(&set, nullptr, &tick); sig > 0) interrupted(sig);
      const auto elapsed = Clock::now() - t0;
      if (progress && elapsed >= kProgressEvery && !stop_.load()) {
        std::fprintf(stderr, "\r  %zu/%zu done, %.1fs ", completed_.load(), requests_,
                     std::chrono::duration<double>(elapsed).count());
        shown = true;
      }
    }
    if (shown) std::fprintf(stderr, "\r\033[K");
  }

  // Summarises what finished and ends the process, unless the batch's own summary came first.
  void interrupted(int sig) {
    if (!claim_summary()) return;
    const auto now = Clock::now();
    const auto started = started_ns_.load();
    const auto wall =
        started == 0 ? Clock::duration{0} : now.time_since_epoch() - Clock::duration{started};
    if (isatty(STDERR_FILENO) != 0) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "iobench-fetch: interrupted (%s): %zu of %zu requests finished\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", log_.finished_count(), requests_);
    print_partial_(log_, wall);
    std::cout.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    // The batch is still running on other threads: end here, not through exit's destructors.
    std::_Exit(128 + sig);
  }

  std::size_t requests_;
  partial_printer print_partial_;
  std::atomic<std::size_t> completed_{0};
  finished_log log_;
  std::atomic<Clock::rep> started_ns_{0};
  std::atomic<bool> claimed_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace iobench::bench
