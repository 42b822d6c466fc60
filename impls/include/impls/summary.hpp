// Summaries of a batch of Outcomes: the numbers iobench-fetch prints and the suite's counters are
// built from. Percentiles are exact (nearest rank over every request), not histogram estimates.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"

namespace iobench {

/// Nearest-rank percentile: the smallest value with at least q of the values at or below it.
/// REQUIRES: `sorted` ascending; 0 <= q <= 1. Returns 0 for no values; q = 1 gives the max.
double percentile(std::span<const double> sorted, double q);

/// Latencies of every outcome in milliseconds, ascending (failed requests included: their
/// latency is what the caller waited).
std::vector<double> sorted_latencies_ms(std::span<const Outcome> outcomes);

/// What a batch did.
struct batch_summary {
  std::size_t requests = 0;
  std::size_t succeeded = 0;  ///< complete responses with a 2xx status
  std::size_t failed = 0;     ///< everything else (errors and non-2xx)
  double wall_s = 0;
  double req_per_s = 0;  ///< requests / wall_s
  std::uint64_t body_bytes = 0;
  double min_ms = 0, mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  /// Phases (Outcome's): the requests that opened a connection and how long connecting took,
  /// the requests whose response began and how long after their start; p50 and p99 each.
  std::size_t connections = 0;
  double connect_p50_ms = 0, connect_p99_ms = 0;
  std::size_t first_bytes = 0;
  double first_byte_p50_ms = 0, first_byte_p99_ms = 0;
  std::map<int, std::size_t> statuses;        ///< status -> responses (errors have none)
  std::map<std::string, std::size_t> errors;  ///< every ErrorKind but none -> count
};

/// Summarises `outcomes` of a batch that took `wall`.
batch_summary summarize(std::span<const Outcome> outcomes, Clock::duration wall);

}  // namespace iobench
