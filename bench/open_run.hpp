// One open-loop step, as iobench-fetch --rate and the suite's open benchmarks run it: the
// schedule, the run, its summary, and how the summary is written (JSON keys, a human summary,
// HdrHistogram's .hgrm text).
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"
#include "impls/open_loop.hpp"

namespace iobench::bench {

/// Default of how long a step waits, after its schedule ends, for requests still in flight.
inline constexpr std::chrono::seconds kDefaultGrace{5};
/// A request sent this much later than intended stops its step early (the 10 s).
inline constexpr std::chrono::seconds kMaxSendLag{10};
/// Time between building the schedule and its first send, so that the first requests are not
/// late because the run was still starting.
inline constexpr std::chrono::milliseconds kScheduleLead{20};

/// What a step offers.
struct open_step {
  double rate = 0;                    ///< requests per second
  std::chrono::nanoseconds duration;  ///< how long the schedule offers them
  arrival kind = arrival::constant;
  std::uint64_t seed = 1;                          ///< for poisson
  std::chrono::nanoseconds grace = kDefaultGrace;  ///< after the schedule, before cutting off
};

/// A step's record.
struct open_result {
  schedule_result run;
  open_loop_summary summary;
};

/// A step's schedule, made before it runs: what an interrupted step is summarised against.
struct open_plan {
  Clock::time_point start;                  ///< when the schedule starts (the first send)
  std::vector<Clock::time_point> schedule;  ///< every intended send time, ascending
};

/// The schedule of `step`, starting kScheduleLead from now.
open_plan plan_open_step(const open_step& step);

/// Runs `step` on `plan` (from plan_open_step, just before) with `fetcher` against `url` (every
/// request the same URL).
open_result run_open_step(Fetcher& fetcher, const std::string& url, const open_step& step,
                          const open_plan& plan);

/// Plans `step` and runs it at once.
open_result run_open_step(Fetcher& fetcher, const std::string& url, const open_step& step);

/// The step's numbers under the keys docs/results.md names: mode "open", target_rate,
/// achieved_rate, goodput, scheduled, sent, succeeded, failed, incomplete, late_sends, latency_ms
/// (corrected), service_ms, send_lag_ms (each {p50, p90, p99, p999, max}), plus duration_s,
/// arrival, peak_queue, stopped_early, statuses and errors.
boost::json::object open_json(const open_step& step, const open_loop_summary& s);

/// A summary like hey's, for a terminal.
void print_open(std::FILE* out, const std::string& impl, std::size_t concurrency,
                const open_step& step, const open_loop_summary& s);

}  // namespace iobench::bench
