// How each kind of row runs its iterations and what it reports: a C++ model in this process, a
// Python reference in a child that measures itself, wrk for a fixed duration.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"
#include "server_process.hpp"
#include "suite.hpp"

namespace iobench::bench {

/// What a benchmark measured over its iterations, whoever measured it.
struct measured {
  std::vector<double> latencies_ms;
  std::size_t errors = 0;
  double wall_s = 0;
  double cpu_s = 0;
  double kernel_cpu_s = 0;  ///< a child's CPU as the kernel counted it
  bool kernel_cpu = false;  ///< kernel_cpu_s was measured (a child's row)
  double vol_csw = 0;       ///< voluntary context switches over the iterations
  double invol_csw = 0;     ///< involuntary ones
  double peak_rss_mib = 0;
  double rss_base_mib = 0;
  double threads = 0;
  /// Threads of the suite's own beside the model's (the server's watch): left out of `threads`.
  double own_threads = 0;

  /// Adds one batch's latencies and failures.
  void add(std::span<const Outcome> outcomes);
};

/// Where a benchmark ran: what the evidence that the server was not the bottleneck is computed
/// from.
struct placement {
  std::string base;        ///< the server's base URL
  server_counters before;  ///< its /stats when the benchmark started
  double client_cpus = 1;  ///< CPUs the client side (this process and its children) may use
  Clock::time_point since = Clock::now();  ///< when `before` was read
  /// When set, bumped as requests finish (server_watch::progress()): pass as Options::completed.
  std::atomic<std::size_t>* progress = nullptr;
};

/// The evidence that the server was not the bottleneck, from its /stats now against
/// `where.before`: server_cpu_util, listen_overflows, server_max_in_flight, server_late_p99_ms.
void server_evidence(benchmark::UserCounters& c, const placement& where,
                     const server_counters& after);

/// Marks the run errored with `why`, on one line (line breaks become "; "). NOTE: Google
/// Benchmark's statistics over repetitions CHECK (and abort) unless every repetition, errored or
/// not, ran as many iterations as the first, and a run skipped before its loop started counts 0.
/// So a run whose loop has not started runs it here, empty (an errored run does no iteration),
/// and counts its fixed iterations like the repetitions that ran.
void skip_run(benchmark::State& state, const std::string& why);

/// A C++ model: wall time, CPU and memory are this process's.
void run_model(benchmark::State& state, const point& p, std::span<const Request> requests,
               const Options& o, measured& m);

/// A reference child (Python, Node, --reference): it times its batches and reports its own CPU,
/// memory and threads, and is trusted but checked. The row is errored, with one line saying
/// why, when it claims more complete responses than the server answered in the benchmark, or
/// more CPU than the kernel counted for it, or far less (under half the kernel's, beyond 20 ms a
/// batch: what the protocol's own JSON costs); kernel_cpu_us_per_req is the kernel's figure.
/// The row's peak RSS is the kernel's (/proc/PID/status). `where.progress`, when set, is bumped
/// as each batch finishes.
void run_child(benchmark::State& state, const point& p, std::span<const Request> requests,
               const Options& o, measured& m, const placement& where);

/// The counters every model and Python row reports (names fixed by docs/results.md), the server's
/// /stats included.
void fill_counters(benchmark::State& state, const point& p, measured& m, const placement& where);

/// wrk, the ceiling: it runs for `duration`, so its "batch" is N requests at its measured rate.
/// Counters it cannot give (efficiency, threads, per-request latencies beyond its percentiles)
/// are left out rather than invented.
/// It runs one thread per client CPU (at most C), so that it is a ceiling on this machine.
void run_wrk_point(benchmark::State& state, const point& p, const std::string& url,
                   std::chrono::seconds duration, const placement& where);

}  // namespace iobench::bench
