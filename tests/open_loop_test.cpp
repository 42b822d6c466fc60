// The open-loop schedule and summary, without a network: arrival times, and the corrected and
// uncorrected latencies, lag, rates and counts computed from synthetic outcomes.
#include "impls/open_loop.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace {

using namespace iobench;
using namespace std::chrono_literals;

TEST(Schedule, ConstantArrivalsAreEvenlySpacedFromTheStart) {
  const auto t0 = Clock::now();
  const auto s = make_schedule(t0, 1000, 2s, arrival::constant);
  ASSERT_EQ(s.size(), 2000U);
  EXPECT_EQ(s.front(), t0);
  EXPECT_EQ(s[1] - t0, 1ms);
  EXPECT_EQ(s.back() - t0, 1999ms) << "computed from i, no drift";
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(make_schedule(t0, 3, 1s, arrival::constant).size(), 3U);
  EXPECT_EQ(make_schedule(t0, 0.5, 1s, arrival::constant).size(), 1U) << "t_0 = start";
}

TEST(Schedule, PoissonArrivalsHaveTheRateOnAverageAndRepeatWithTheSeed) {
  const auto t0 = Clock::now();
  const auto a = make_schedule(t0, 5000, 4s, arrival::poisson, 7);
  const auto b = make_schedule(t0, 5000, 4s, arrival::poisson, 7);
  const auto c = make_schedule(t0, 5000, 4s, arrival::poisson, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // 20,000 expected, sd = sqrt(20,000) = 141: within 5 sd.
  EXPECT_NEAR(static_cast<double>(a.size()), 20000.0, 710.0);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_LT(a.back() - t0, 4s);
  // Exponential gaps: the coefficient of variation is 1 (a constant schedule's is 0).
  std::vector<double> gaps;
  for (std::size_t i = 1; i < a.size(); ++i) {
    gaps.push_back(std::chrono::duration<double>(a[i] - a[i - 1]).count());
  }
  const double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / gaps.size();
  double var = 0;
  for (double g : gaps) var += (g - mean) * (g - mean);
  EXPECT_NEAR(std::sqrt(var / gaps.size()) / mean, 1.0, 0.05);
}

TEST(Schedule, RejectsRatesAndDurationsThatAreNotPositive) {
  const auto t0 = Clock::now();
  EXPECT_THROW(make_schedule(t0, 0, 1s, arrival::constant), std::invalid_argument);
  EXPECT_THROW(make_schedule(t0, -1, 1s, arrival::constant), std::invalid_argument);
  EXPECT_THROW(make_schedule(t0, std::nan(""), 1s, arrival::constant), std::invalid_argument);
  EXPECT_THROW(make_schedule(t0, 10, 0s, arrival::poisson), std::invalid_argument);
}

Outcome done(Clock::time_point t, Clock::duration lag, Clock::duration service, int status = 200) {
  Outcome o;
  o.intended = t;
  o.start = t + lag;
  o.end = o.start + service;
  o.status = status;
  return o;
}

TEST(OpenLoopSummary, CorrectedLatencyCountsTheQueueingServiceTimeDoesNot) {
  const auto t0 = Clock::now();
  const auto sched = make_schedule(t0, 100, 1s, arrival::constant);  // 100 requests, 10 ms apart
  schedule_result r;
  for (std::size_t i = 0; i < sched.size(); ++i) {
    // The first half on time; the second half each waited 50 ms for a slot.
    r.outcomes.push_back(done(sched[i], i < 50 ? 100us : 50ms, 5ms));
  }
  r.peak_queue = 5;
  const auto s = summarize_open(r, sched, 1s, 100);
  EXPECT_EQ(s.scheduled, 100U);
  EXPECT_EQ(s.sent, 100U);
  EXPECT_EQ(s.succeeded, 100U);
  EXPECT_EQ(s.late_sends, 50U);
  EXPECT_EQ(s.peak_queue, 5U);
  const auto latency = percentiles_ms::of(s.latency_ns);
  const auto service = percentiles_ms::of(s.service_ns);
  EXPECT_NEAR(latency.p50, 5.1, 0.01);
  EXPECT_NEAR(latency.p90, 55.0, 0.06);
  EXPECT_NEAR(service.p90, 5.0, 0.01) << "uncorrected: the queueing is invisible";
  EXPECT_NEAR(percentiles_ms::of(s.lag_ns).max, 50.0, 0.05);
  // The lag grew by 50 ms half-way: 99 gaps over 0.99 s + 49.9 ms.
  EXPECT_NEAR(s.achieved_rate, 99 / 1.0399, 1e-6);
  EXPECT_NEAR(s.goodput, s.achieved_rate, 1e-9);
}

TEST(OpenLoopSummary, IncompleteUnsentAndFailedAreCountedApart) {
  const auto t0 = Clock::now();
  const auto sched = make_schedule(t0, 10, 1s, arrival::constant);  // 10 requests
  schedule_result r;
  for (std::size_t i = 0; i < sched.size(); ++i) r.outcomes.push_back(done(sched[i], 0s, 1ms));
  r.outcomes[1].status = 503;
  r.outcomes[2].status = 0;
  r.outcomes[2].error = ErrorKind::reset;
  r.outcomes[3].finished = false;  // in flight at the deadline
  r.outcomes[8].sent = r.outcomes[8].finished = false;
  r.outcomes[9].sent = r.outcomes[9].finished = false;
  r.stopped_early = true;
  const auto s = summarize_open(r, sched, 1s, 10);
  EXPECT_EQ(s.sent, 8U);
  EXPECT_EQ(s.incomplete, 3U);
  EXPECT_EQ(s.failed, 2U);
  EXPECT_EQ(s.succeeded, 5U);
  EXPECT_EQ(s.statuses.at(503), 1U);
  EXPECT_EQ(s.errors.at("reset"), 1U);
  EXPECT_TRUE(s.stopped_early);
  EXPECT_EQ(s.latency_ns.count(), 7U) << "only finished requests have a latency";
  EXPECT_NEAR(s.achieved_rate, 10.0, 1e-6) << "the eight sent kept the pace";
  EXPECT_NEAR(s.goodput, 10.0 * 5 / 8, 1e-6);
}

TEST(OpenLoopSummary, SendsThatSpillPastTheScheduleStretchTheWindow) {
  const auto t0 = Clock::now();
  const auto sched = make_schedule(t0, 10, 1s, arrival::constant);
  schedule_result r;
  // Sequential at half its needed capacity: each send is 100 ms * i late, the last at 1.8 s.
  for (std::size_t i = 0; i < sched.size(); ++i) {
    r.outcomes.push_back(done(sched[i], i * 100ms, 200ms));
  }
  const auto s = summarize_open(r, sched, 1s, 10);
  EXPECT_NEAR(s.achieved_rate, 9 / 1.8, 1e-6);
  EXPECT_GT(percentiles_ms::of(s.latency_ns).max, percentiles_ms::of(s.service_ns).max * 4);
}

TEST(OpenLoopInterrupted, RebuildsWhatWasSentFinishedAndStillInFlight) {
  const auto t0 = Clock::now();
  auto sched = make_schedule(t0, 10, 1s, arrival::constant);  // 10 requests, 100 ms apart
  sched[5] = sched[4];  // two meant for the same instant are told apart
  // Sent: 0..5, the last three each 150 ms late; ended: 0, 1, 3 and one of the twins.
  std::vector<send_record> sends;
  for (std::size_t i = 0; i < 6; ++i) sends.push_back({sched[i], sched[i] + (i < 3 ? 0ms : 150ms)});
  std::reverse(sends.begin(), sends.end());  // as threads report them, in any order
  std::vector<Outcome> ended{done(sched[3], 150ms, 10ms, 503), done(sched[0], 0s, 10ms),
                             done(sched[1], 0s, 10ms), done(sched[4], 150ms, 10ms)};
  const auto r = rebuild_interrupted(sched, ended, sends);
  ASSERT_EQ(r.outcomes.size(), 10U);
  const auto s = summarize_open(r, sched, 1s, 10);
  EXPECT_EQ(s.scheduled, 10U);
  EXPECT_EQ(s.sent, 6U);
  EXPECT_EQ(s.succeeded, 3U);
  EXPECT_EQ(s.failed, 1U);
  EXPECT_EQ(s.incomplete, 6U) << "two in flight, four never sent";
  EXPECT_EQ(s.statuses.at(503), 1U);
  EXPECT_EQ(s.lag_ns.count(), 6U) << "every send has its lag, in flight or not";
  EXPECT_EQ(s.late_sends, 3U);
  EXPECT_EQ(s.latency_ns.count(), 4U);
  EXPECT_NEAR(percentiles_ms::of(s.latency_ns).max, 160.0, 0.2) << "from the intended time";
  EXPECT_NEAR(percentiles_ms::of(s.service_ns).max, 10.0, 0.02);
  EXPECT_FALSE(r.outcomes[2].finished);
  EXPECT_TRUE(r.outcomes[2].sent) << "sent, not ended: in flight";
  EXPECT_FALSE(r.outcomes[6].sent);
  // Request 3 went at 450 ms, when 0..4 and 5 (the twin) were due: 4 and 5 still waited.
  EXPECT_EQ(r.peak_queue, 2U);
}

TEST(OpenLoopInterrupted, NothingSentIsAllIncomplete) {
  const auto sched = make_schedule(Clock::now(), 100, 1s, arrival::poisson, 7);
  const auto s = summarize_open(rebuild_interrupted(sched, {}, {}), sched, 1s, 100);
  EXPECT_EQ(s.scheduled, sched.size());
  EXPECT_EQ(s.sent, 0U);
  EXPECT_EQ(s.incomplete, sched.size());
  EXPECT_EQ(s.latency_ns.count(), 0U);
}

}  // namespace
