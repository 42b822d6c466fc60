// The suite's open-loop points: how their rates are found and how one runs.
//
// An open point offers a fraction of its model's own closed-loop throughput at the same delay and
// concurrency, so the sweep straddles each model's capacity wherever it lies (a thread pool and
// an event loop differ by orders of magnitude at zero delay). That throughput is measured just
// before the run, against the same server, and recorded with each point (closed_loop_rate).
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <string>
#include <vector>

#include "runners.hpp"
#include "suite.hpp"

namespace iobench::bench {

/// Sets the rate of every open point that `selected` accepts and that has only a fraction, from
/// its model's closed-loop throughput measured now against `base` (one measurement per model,
/// delay and concurrency; progress on stderr). A measurement that fails leaves its points with
/// their fraction and the reason in point::error, to be reported errored; the others still run.
/// `progress`, when set, is bumped as each request finishes (server_watch::progress()).
void calibrate_open_points(std::vector<point>& points, const std::string& base,
                           const std::function<bool(const point&)>& selected,
                           std::atomic<std::size_t>* progress = nullptr);

/// Runs an open point: one open-loop step per iteration against `where.base`, its counters named
/// like iobench-fetch's JSON keys (target_rate, achieved_rate, goodput, scheduled, sent,
/// succeeded, failed, incomplete, late_sends, peak_queue, stopped_early, latency_<p>_ms,
/// service_<p>_ms, send_lag_<p>_ms for p50, p90, p99, p999, max), plus errors, rate_fraction,
/// closed_loop_rate and the server evidence.
void run_open_point(benchmark::State& state, const point& p, const placement& where);

}  // namespace iobench::bench
