// What the benchmark suite runs: points of impl x requests x delay x concurrency x bytes
// (x keep-alive), grouped into named suites, with the ideal makespan each point is judged by.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "impls/fetcher.hpp"

namespace iobench::bench {

/// One benchmark: a batch of `requests` GETs with the given server-side delay and body size.
struct point {
  std::string impl;
  std::size_t requests = 1;
  /// Server delay of each request, cycled over the batch; one entry for a uniform batch. The
  /// "websites" scenario gives each request its own.
  std::vector<int> delays_ms{0};
  std::size_t concurrency = 1;  ///< as asked; a one-at-a-time impl runs at 1
  std::size_t bytes = 0;
  bool keep_alive = true;
  int repetitions = 1;
  std::string label;  ///< what the point stands for, e.g. the claim it tests
  /// After each complete response, CPU work (Options::work) and a blocking sleep
  /// (Options::block), in microseconds; 0: none. Named /work_us:W and /block_us:B.
  std::size_t work_us = 0;
  std::size_t block_us = 0;
  /// Over https, to the suite's TLS mock_server (named /tls:1): a handshake per connection, the
  /// row's counters say how many per request, and how many of them resumed a session.
  bool tls = false;
  // Open loop (open/<impl>/rate:<R>/delay_ms:<L>/concurrency:<C>): requests on a schedule for
  // duration_s instead of a batch of `requests`.
  double rate = 0;              ///< > 0: requests per second offered
  double rate_fraction = 0;     ///< > 0 (rate 0): the rate is this fraction of the impl's
                                ///< closed-loop throughput at the same delay and concurrency,
                                ///< measured before the run (open_suite.hpp)
  double duration_s = 0;        ///< how long the schedule offers requests
  double closed_loop_rate = 0;  ///< the measured throughput rate_fraction was taken of
  std::string error;  ///< why the point cannot run (its calibration failed): reported errored

  /// An open-loop point.
  [[nodiscard]] bool open_loop() const { return rate > 0 || rate_fraction > 0; }

  /// The concurrency the impl really gets (1 when it runs one request at a time).
  [[nodiscard]] std::size_t effective_concurrency() const;
  /// The largest per-request delay, used in the name.
  [[nodiscard]] int delay_ms() const;
  /// Each request's delay in ms, in request order.
  [[nodiscard]] std::vector<int> request_delays_ms() const;
};

/// Something a suite can run: a registered model, or a reference row with the same metadata.
struct impl_info {
  model_info info;
  bool reference = false;  ///< the results' `models` context says kind "reference"
  /// The language and runtime it runs in, as the report groups the rows: "c++" for the models,
  /// a reference's "python", "node", "go", "command" (--reference), "wrk".
  std::string_view runtime = "c++";
};

/// Every impl a suite can run: the registry's models in its order, then the references
/// (reference.hpp's references()).
std::span<const impl_info> all_impls();

/// The impl named `name`; nullptr when there is none.
const impl_info* find_impl(std::string_view name);

/// True for an impl that runs one request at a time whatever the concurrency asked.
bool one_at_a_time(std::string_view impl);

/// all_impls()' names.
std::vector<std::string> all_impl_names();

/// fetch/<impl>/requests:<N>/delay_ms:<L>/concurrency:<C>/bytes:<B>[/close][/tls:1]
/// [/work_us:<W>][/block_us:<B>]
std::string benchmark_name(const point& p);

/// Parses a closed-loop name made by benchmark_name (the fields it encodes); nullopt if it is not
/// one.
std::optional<point> parse_benchmark_name(std::string_view name);

/// The makespan a perfect model would reach: `concurrency` workers take the requests in order,
/// each costing exactly its delay and nothing else (list scheduling). For equal delays L this is
/// ceil(N / min(C, N)) x L. Returns seconds.
double ideal_makespan_s(std::span<const int> delays_ms, std::size_t concurrency);

/// ideal_makespan_s for a point, at its effective concurrency.
double ideal_makespan_s(const point& p);

/// Efficiency: ideal / measured, in (0, ~1]; 0 when either is not positive.
double efficiency(double ideal_s, double measured_s);

/// The suites: quick, default, full, seed, ci, scale, open, work, tls, and smoke (tiny, for
/// tests).
std::span<const std::string_view> suite_names();

/// The points of a suite restricted to `impls` (all when empty). Throws std::invalid_argument
/// for an unknown suite or impl.
std::vector<point> suite_points(std::string_view suite, std::span<const std::string> impls);

}  // namespace iobench::bench
