#include "impls/open_loop.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace iobench {
namespace {

using ns = std::chrono::nanoseconds;

double ms(std::uint64_t nanoseconds) { return static_cast<double>(nanoseconds) / 1e6; }

}  // namespace

std::string_view to_string(arrival a) { return a == arrival::poisson ? "poisson" : "constant"; }

std::vector<Clock::time_point> make_schedule(Clock::time_point start, double rate,
                                             std::chrono::nanoseconds duration, arrival kind,
                                             std::uint64_t seed) {
  if (!(rate > 0) || !std::isfinite(rate)) {
    throw std::invalid_argument("the rate must be a positive number of requests per second");
  }
  if (duration.count() <= 0) throw std::invalid_argument("the duration must be positive");
  const double end_s = std::chrono::duration<double>(duration).count();
  std::vector<Clock::time_point> times;
  times.reserve(static_cast<std::size_t>(std::ceil(rate * end_s)) + 1);
  if (kind == arrival::constant) {
    // Each t_i from i, not from t_(i-1): no rounding drift over a long run.
    for (std::size_t i = 0;; ++i) {
      const double at = static_cast<double>(i) / rate;
      if (at >= end_s) break;
      times.push_back(start + std::chrono::duration_cast<ns>(std::chrono::duration<double>(at)));
    }
  } else {
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> gap(rate);
    for (double at = gap(rng); at < end_s; at += gap(rng)) {
      times.push_back(start + std::chrono::duration_cast<ns>(std::chrono::duration<double>(at)));
    }
  }
  return times;
}

schedule_result rebuild_interrupted(std::span<const Clock::time_point> schedule,
                                    std::span<const Outcome> ended,
                                    std::span<const send_record> sends) {
  schedule_result r;
  r.outcomes.resize(schedule.size());
  for (std::size_t i = 0; i < schedule.size(); ++i) {
    r.outcomes[i].intended = schedule[i];
    r.outcomes[i].sent = false;
    r.outcomes[i].finished = false;
  }
  // The index of the first request meant for `t` not yet `taken`; schedule.size() if none.
  const auto place = [&schedule](Clock::time_point t, std::vector<bool>& taken) {
    auto i = static_cast<std::size_t>(std::lower_bound(schedule.begin(), schedule.end(), t) -
                                      schedule.begin());
    while (i < schedule.size() && schedule[i] == t && taken[i]) ++i;
    if (i == schedule.size() || schedule[i] != t) return schedule.size();
    taken[i] = true;
    return i;
  };
  std::vector<bool> sent(schedule.size(), false);
  std::vector<send_record> in_order(sends.begin(), sends.end());
  std::sort(in_order.begin(), in_order.end(),
            [](const send_record& a, const send_record& b) { return a.at < b.at; });
  for (std::size_t k = 0; k < in_order.size(); ++k) {
    const auto i = place(in_order[k].intended, sent);
    if (i == schedule.size()) continue;
    r.outcomes[i].sent = true;
    r.outcomes[i].start = in_order[k].at;
    // Due by now and not yet sent: this one and the k before it are gone.
    const auto due = static_cast<std::size_t>(
        std::upper_bound(schedule.begin(), schedule.end(), in_order[k].at) - schedule.begin());
    r.peak_queue = std::max(r.peak_queue, due > k + 1 ? due - (k + 1) : 0);
  }
  std::vector<bool> done(schedule.size(), false);
  for (const Outcome& o : ended) {
    const auto i = place(o.intended, done);
    if (i == schedule.size()) continue;
    r.outcomes[i] = o;
    r.outcomes[i].sent = true;
  }
  return r;
}

percentiles_ms percentiles_ms::of(const histogram& h) {
  return {ms(h.value_at_quantile(0.50)), ms(h.value_at_quantile(0.90)),
          ms(h.value_at_quantile(0.99)), ms(h.value_at_quantile(0.999)), ms(h.max())};
}

open_loop_summary summarize_open(const schedule_result& result,
                                 std::span<const Clock::time_point> schedule,
                                 std::chrono::nanoseconds duration, double rate) {
  open_loop_summary s;
  s.target_rate = rate;
  s.duration_s = std::chrono::duration<double>(duration).count();
  s.scheduled = result.outcomes.size();
  s.peak_queue = result.peak_queue;
  s.stopped_early = result.stopped_early;
  for (auto kind :
       {ErrorKind::connect, ErrorKind::timeout, ErrorKind::reset, ErrorKind::bad_response}) {
    s.errors[std::string(to_string(kind))] = 0;
  }
  Clock::time_point first_send = Clock::time_point::max();
  Clock::time_point last_send = Clock::time_point::min();
  for (std::size_t i = 0; i < result.outcomes.size(); ++i) {
    const Outcome& o = result.outcomes[i];
    // The schedule is the source of t; a model that stamped its own is not trusted with it.
    const Clock::time_point t = i < schedule.size() ? schedule[i] : o.intended;
    if (o.sent) {
      ++s.sent;
      first_send = std::min(first_send, o.start);
      last_send = std::max(last_send, o.start);
      s.lag_ns.record(o.start - t);
      if (o.start - t > kLateSend) ++s.late_sends;
    }
    if (!o.finished) {
      ++s.incomplete;
      continue;
    }
    s.latency_ns.record(o.end - t);
    s.service_ns.record(o.end - o.start);
    if (o.succeeded()) {
      ++s.succeeded;
    } else {
      ++s.failed;
    }
    if (o.error == ErrorKind::none) {
      ++s.statuses[o.status];
    } else {
      ++s.errors[std::string(to_string(o.error))];
    }
  }
  // The rate the sends really had: n sends span n - 1 gaps. A model that keeps pace (even a
  // constant lag behind) achieves the offered rate; one that falls further behind spreads its
  // sends over a longer span and achieves less.
  const double span =
      s.sent >= 2 ? std::chrono::duration<double>(last_send - first_send).count() : 0;
  s.achieved_rate = span > 0 ? static_cast<double>(s.sent - 1) / span
                             : static_cast<double>(s.sent) / s.duration_s;
  s.goodput = s.sent > 0
                  ? s.achieved_rate * static_cast<double>(s.succeeded) / static_cast<double>(s.sent)
                  : 0;
  return s;
}

}  // namespace iobench
