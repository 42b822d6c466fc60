// How each kind of row runs its iterations and what it reports: a C++ model in this process, a
// reference in a child that measures itself (checked against the kernel and the server), wrk for
// a fixed duration, an open-loop step (open_points.hpp). One interface: kind_of() chooses the
// kind once from the point, run_row() runs it.
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

/// The kinds of row, each with its runner.
enum class row_kind {
  model,      ///< a C++ model in this process (run_model)
  child,      ///< a reference child speaking the batch protocol (run_child)
  wrk,        ///< wrk for a fixed duration (run_wrk_point)
  open_loop,  ///< an open-loop step at a rate (open_points.hpp's run_open_point)
};

/// The kind of row `p` is: from its shape (a rate) and its impl (wrk, a child reference, a model).
row_kind kind_of(const point& p);

/// Whether the row's own clock times its iterations (Google Benchmark's manual time): wrk's and
/// a child's do; a model's and an open-loop step's are this process's wall clock.
inline bool timed_by_row(row_kind k) { return k == row_kind::wrk || k == row_kind::child; }

/// Whether the row is one measurement whatever the target time: wrk and an open-loop step run
/// for their duration.
inline bool single_iteration(row_kind k) { return k == row_kind::wrk || k == row_kind::open_loop; }

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

/// One row, ready to run: the point, its batch (empty for an open-loop step), the options of its
/// requests, where it runs, and how long wrk runs.
struct row {
  const point& p;
  std::span<const Request> requests;
  const Options& options;
  const placement& where;
  std::chrono::seconds wrk_duration;
};

/// Runs `r` with the runner of its kind and sets its counters (a model's and a child's from `m`,
/// which collects what they measured); an errored row stays errored. Throws what the runner
/// throws (a dead child, a server that stopped answering).
void run_row(benchmark::State& state, const row& r, measured& m);

/// wrk, the ceiling: it runs for `duration`, so its "batch" is N requests at its measured rate.
/// Counters it cannot give (efficiency, threads, per-request latencies beyond its percentiles)
/// are left out rather than invented.
/// It runs one thread per client CPU (at most C), so that it is a ceiling on this machine.
void run_wrk_point(benchmark::State& state, const point& p, const std::string& url,
                   std::chrono::seconds duration, const placement& where);

}  // namespace iobench::bench
