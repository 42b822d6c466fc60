// How each kind of row runs its iterations and what it reports: a C++ model in this process, a
// Python reference in a child that measures itself, wrk for a fixed duration.
#pragma once

#include <benchmark/benchmark.h>

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
  double peak_rss_mib = 0;
  double rss_base_mib = 0;
  double threads = 0;

  /// Adds one batch's latencies and failures.
  void add(std::span<const Outcome> outcomes);
};

/// Where a benchmark ran: what the evidence that the server was not the bottleneck is computed
/// from.
struct placement {
  std::string base;         ///< the server's base URL
  server_counters before;   ///< its /stats when the benchmark started
  double client_cpus = 1;   ///< CPUs the client side (this process and its children) may use
  Clock::time_point since = Clock::now();  ///< when `before` was read
};

/// The evidence that the server was not the bottleneck, from its /stats now against
/// `where.before`: server_cpu_util, listen_overflows, server_max_in_flight, server_late_p99_ms.
void server_evidence(benchmark::UserCounters& c, const placement& where,
                     const server_counters& after);

/// A C++ model: wall time, CPU and memory are this process's.
void run_model(benchmark::State& state, const point& p, std::span<const Request> requests,
               const Options& o, measured& m);

/// A Python reference: the child times its batches and reports its own CPU, memory, threads.
void run_python(benchmark::State& state, const point& p, std::span<const Request> requests,
                const Options& o, measured& m);

/// The counters every model and Python row reports (names fixed by DESIGN.md), the server's
/// /stats included.
void fill_counters(benchmark::State& state, const point& p, measured& m, const placement& where);

/// wrk, the ceiling: it runs for `duration`, so its "batch" is N requests at its measured rate.
/// Counters it cannot give (efficiency, threads, per-request latencies beyond its percentiles)
/// are left out rather than invented.
/// It runs one thread per client CPU (at most C), so that it is a ceiling on this machine.
void run_wrk_point(benchmark::State& state, const point& p, const std::string& url,
                   std::chrono::seconds duration, const placement& where);

}  // namespace iobench::bench
