// Open-loop load: requests on a schedule, whether or not earlier ones are done, and latency from
// the moment each request was meant to be sent.
//
// A closed-loop batch (fetch_all) sends the next request when a slot frees up, so a slow response
// delays the requests behind it and that delay never shows in their latency (coordinated
// omission). Here every request has an intended send time t_i fixed before the run, the same for
// every model; a model sends it at t_i if it can, later if C requests are already in flight (it
// queues; nothing is dropped), and each request records t (intended), s (sent) and e (ended):
//   latency (corrected)   e - t: what a user arriving at t waits
//   service (uncorrected) e - s: what closed-loop tools report
//   send lag              s - t: how far behind the schedule the model fell
// The schedule never catches up in bursts and never uses a wake-up time as t_i.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"
#include "impls/histogram.hpp"

namespace iobench {

/// How the intended send times are spaced.
enum class arrival {
  constant,  ///< t_i = T0 + i / R
  poisson,   ///< exponential gaps with mean 1 / R, from a seed (the same seed, the same times)
};

/// "constant" or "poisson".
std::string_view to_string(arrival a);

/// The intended send times of a run at `rate` requests/s for `duration` from `start`, computed up
/// front: every t_i < start + duration, ascending. Throws std::invalid_argument for a rate or
/// duration that is not positive and finite.
std::vector<Clock::time_point> make_schedule(Clock::time_point start, double rate,
                                             std::chrono::nanoseconds duration, arrival kind,
                                             std::uint64_t seed = 1);

/// A send this much later than intended counts as late.
inline constexpr std::chrono::milliseconds kLateSend{1};

/// Percentiles of one distribution, in milliseconds.
struct percentiles_ms {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
  /// From a histogram of nanoseconds.
  static percentiles_ms of(const histogram& ns);
};

/// What an open-loop run did.
struct open_loop_summary {
  double target_rate = 0;    ///< requests/s the schedule offered
  double duration_s = 0;     ///< the schedule's length
  double achieved_rate = 0;  ///< (sent - 1) / (last send - first send): the sends' real rate
  double goodput = 0;        ///< achieved_rate x succeeded / sent: successful requests per second
  std::size_t scheduled = 0;
  std::size_t sent = 0;
  std::size_t succeeded = 0;   ///< complete responses with a 2xx status
  std::size_t failed = 0;      ///< finished, but not a success (errors and non-2xx)
  std::size_t incomplete = 0;  ///< not finished when the run ended (never sent, or cut off)
  std::size_t late_sends = 0;  ///< sent more than kLateSend after their intended time
  std::size_t peak_queue = 0;
  bool stopped_early = false;
  histogram latency_ns;                       ///< e - t of every finished request (corrected)
  histogram service_ns;                       ///< e - s of every finished request (uncorrected)
  histogram lag_ns;                           ///< s - t of every sent request
  std::map<int, std::size_t> statuses;        ///< status -> finished responses
  std::map<std::string, std::size_t> errors;  ///< every ErrorKind but none -> count
};

/// One request as outcome_observer::sent saw it go.
struct send_record {
  Clock::time_point intended;  ///< when the schedule said to send it
  Clock::time_point at;        ///< when it went
};

/// The record of a run of `schedule` stopped midway (iobench-fetch on Ctrl-C), rebuilt from what
/// Options::observer saw of it: `ended`, each request reported finished (or cut off), and
/// `sends`, each request reported sent. A sent request that has not ended is in flight (sent, not
/// finished); a scheduled one never sent is unsent. Requests are placed by their intended time
/// (the schedule is ascending; equal times are told apart in order). peak_queue is the most
/// requests found due but not yet sent as each one went. Requests whose intended time is not in
/// `schedule` are left out.
schedule_result rebuild_interrupted(std::span<const Clock::time_point> schedule,
                                    std::span<const Outcome> ended,
                                    std::span<const send_record> sends);

/// Summarises a run of `schedule`, which offered `rate` requests/s for `duration`.
/// REQUIRES: result.outcomes.size() == schedule.size().
open_loop_summary summarize_open(const schedule_result& result,
                                 std::span<const Clock::time_point> schedule,
                                 std::chrono::nanoseconds duration, double rate);

}  // namespace iobench
