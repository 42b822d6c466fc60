// Open loop, one suite over every model (fetch_schedule): requests go out on a schedule whatever
// the earlier ones are doing, and latency counts from the intended send time. Real mock server on
// port 0. The timing checks are the ratios (achieved rate, corrected p50 against the
// delay, corrected p90 against the stall), with nothing else timed; under a sanitizer, which makes
// every request several times slower on a shared machine, the rate-sensitive ones are skipped.
#include <gtest/gtest.h>

#include <numeric>

#include "impls/fetcher.hpp"
#include "impls/open_loop.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench;
using iobench::test::client_socket;
using iobench::test::running_server;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

class Schedules : public iobench::test::model_test {
 protected:
  [[nodiscard]] bool one_at_a_time() const { return find_model(GetParam())->one_at_a_time; }

  // Runs `rate` requests/s for `duration` against `url` at concurrency `c`.
  struct run {
    schedule_result result;
    std::vector<Clock::time_point> schedule;
    open_loop_summary summary;
  };
  run go(const std::string& url, double rate, std::chrono::nanoseconds duration, std::size_t c,
         schedule_limits limits = {}) {
    Options o;
    o.concurrency = c;
    auto f = make_fetcher(GetParam(), o);
    run r;
    r.schedule = make_schedule(Clock::now() + 20ms, rate, duration, arrival::constant);
    const std::vector<Request> requests(r.schedule.size(), Request{url});
    if (limits.deadline == Clock::time_point::max()) {
      limits.deadline = r.schedule.front() + duration + 5s;
    }
    r.result = f->fetch_schedule(requests, r.schedule, limits);
    r.summary = summarize_open(r.result, r.schedule, duration, rate);
    return r;
  }
};

TEST_P(Schedules, EveryRequestIsSentOnceInOrderAndNothingIsDropped) {
  running_server s;
  const auto r = go(s.url() + "/s?delay=5ms&bytes=7", 200, 500ms, 8);
  ASSERT_EQ(r.result.outcomes.size(), r.schedule.size());
  EXPECT_EQ(r.summary.sent, r.schedule.size());
  EXPECT_EQ(r.summary.succeeded, r.schedule.size());
  EXPECT_EQ(r.summary.incomplete, 0U);
  EXPECT_FALSE(r.result.stopped_early);
  EXPECT_EQ(s.stats().requests, r.schedule.size()) << "no request was sent twice";
  EXPECT_LE(s.stats().max_in_flight, one_at_a_time() ? 1 : 8);
  for (std::size_t i = 0; i < r.schedule.size(); ++i) {
    const auto& o = r.result.outcomes[i];
    EXPECT_EQ(o.intended, r.schedule[i]);
    EXPECT_GE(o.start, o.intended) << "never sent before its time";
    EXPECT_LE(o.start, o.end);
    EXPECT_EQ(o.body_bytes, 7U);
  }
}

TEST_P(Schedules, ASustainableRateIsAchievedAndLatencyIsTheDelay) {
  if (one_at_a_time()) GTEST_SKIP() << "1,000/s of 10 ms is ten times what one at a time can do";
  if (kSanitized) GTEST_SKIP() << "rates are not what a sanitizer build measures";
  running_server s;
  const auto r = go(s.url() + "/s?delay=10ms", 1000, 2s, 100);
  EXPECT_EQ(r.summary.succeeded, 2000U);
  EXPECT_GE(r.summary.achieved_rate, 0.99 * 1000);
  const auto latency = percentiles_ms::of(r.summary.latency_ns);
  EXPECT_NEAR(latency.p50, 10.0, 2.0) << "corrected p50 is the server's delay";
}

TEST_P(Schedules, OverloadShowsInTheCorrectedLatencyNotInTheServiceTime) {
  // The sequential case, for every model: 500/s of 10 ms each where only C = 1 slot...
  // for one at a time; the others get the same overload with C = 2 (capacity 200/s).
  running_server s;
  const std::size_t c = one_at_a_time() ? 1 : 2;
  schedule_limits limits;
  limits.deadline = Clock::now() + 2s;  // enough to see the lag grow; the rest stays unsent
  const auto r = go(s.url() + "/s?delay=10ms", 500, 1s, c, limits);
  ASSERT_GT(r.summary.sent, 10U);
  const auto& out = r.result.outcomes;
  // The send lag grows through the run: the later half waited longer than the earlier half.
  std::vector<double> lags;
  for (const auto& o : out) {
    if (o.sent) lags.push_back(std::chrono::duration<double>(o.start - o.intended).count());
  }
  const auto half = static_cast<std::ptrdiff_t>(lags.size() / 2);
  const double early = std::accumulate(lags.begin(), lags.begin() + half, 0.0) / half;
  const double late = std::accumulate(lags.begin() + half, lags.end(), 0.0) /
                      static_cast<double>(lags.size() - lags.size() / 2);
  EXPECT_GT(late, early * 2) << "early " << early << " s, late " << late << " s";
  const auto corrected = percentiles_ms::of(r.summary.latency_ns);
  const auto service = percentiles_ms::of(r.summary.service_ns);
  EXPECT_GT(corrected.p50, 5 * service.p50)
      << "corrected " << corrected.p50 << " ms, service " << service.p50 << " ms";
  EXPECT_GT(r.summary.late_sends, r.summary.sent / 2);
  EXPECT_GT(r.result.peak_queue, 10U);
}

TEST_P(Schedules, AStallInTheMiddleIsSeenOnlyByTheCorrectedLatency) {
  // After Gil Tene: a run of 2T at a constant rate during which the server holds every answer
  // for T. With C well below R x T, the requests due during the stall queue on the client:
  // their corrected latencies spread evenly from T down to 0, so the corrected p90 of the whole
  // run is about 0.8 T, while the service time of all but the C in flight stays small.
  if (kSanitized) GTEST_SKIP() << "rates are not what a sanitizer build measures";
  constexpr auto kStall = 1s;
  running_server s;
  std::thread staller([&] {
    std::this_thread::sleep_for(20ms + kStall / 2);
    client_socket c(s.port());
    c.send("POST /stall?for=1s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(c.read_response().response->status, 200);
  });
  const auto r = go(s.url() + "/s", 200, 2 * kStall, 20);
  staller.join();
  ASSERT_EQ(r.summary.succeeded, r.schedule.size());
  const double stall_ms = std::chrono::duration<double, std::milli>(kStall).count();
  const auto corrected = percentiles_ms::of(r.summary.latency_ns);
  const auto service = percentiles_ms::of(r.summary.service_ns);
  EXPECT_NEAR(corrected.p90, 0.8 * stall_ms, 0.2 * 0.8 * stall_ms);
  EXPECT_LT(service.p90, 0.1 * stall_ms) << "uncorrected: the stall all but vanishes";
}

TEST_P(Schedules, ASendTooLateStopsTheRunAndTheRestStayUnsent) {
  running_server s;
  schedule_limits limits;
  limits.max_lag = 100ms;
  const auto r = go(s.url() + "/s?delay=50ms", 400, 1s, 1, limits);
  EXPECT_TRUE(r.result.stopped_early);
  ASSERT_EQ(r.result.outcomes.size(), r.schedule.size()) << "every request accounted for";
  EXPECT_LT(r.summary.sent, r.schedule.size());
  EXPECT_EQ(r.summary.succeeded + r.summary.failed + r.summary.incomplete, r.schedule.size());
  for (const auto& o : r.result.outcomes) {
    if (!o.sent) {
      EXPECT_FALSE(o.finished);
      EXPECT_EQ(o.error, ErrorKind::none) << "not sent is not a failure";
    }
  }
}

TEST_P(Schedules, WhatIsInFlightAtTheDeadlineIsIncompleteNotAnError) {
  running_server s;
  schedule_limits limits;
  limits.deadline = Clock::now() + 400ms;
  const auto r = go(s.url() + "/s?delay=2s", 20, 200ms, 4, limits);
  ASSERT_EQ(r.result.outcomes.size(), r.schedule.size());
  EXPECT_EQ(r.summary.succeeded, 0U);
  EXPECT_EQ(r.summary.failed, 0U);
  EXPECT_EQ(r.summary.incomplete, r.schedule.size());
  EXPECT_GT(r.summary.sent, 0U);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Schedules, ::testing::ValuesIn(fetcher_names()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
