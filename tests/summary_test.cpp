// Percentiles and batch summaries, the numbers iobench-fetch prints and the suite records.
#include "impls/summary.hpp"

#include <gtest/gtest.h>

namespace {

using namespace iobench;
using namespace std::chrono_literals;

TEST(Percentile, NearestRankOverSortedValues) {
  const std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 5);
  EXPECT_DOUBLE_EQ(percentile(v, 0.9), 9);
  EXPECT_DOUBLE_EQ(percentile(v, 0.99), 10);
  EXPECT_DOUBLE_EQ(percentile(v, 1.0), 10);
  EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 0.11), 2) << "ceil(1.1) = 2nd value";
  EXPECT_DOUBLE_EQ(percentile(std::vector<double>{}, 0.5), 0);
  EXPECT_DOUBLE_EQ(percentile(std::vector<double>{7}, 0.99), 7);
}

TEST(Percentile, P99OfAThousandIsTheNineHundredNinetiethValue) {
  std::vector<double> v;
  for (int i = 1; i <= 1000; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(percentile(v, 0.99), 990);
  EXPECT_DOUBLE_EQ(percentile(v, 0.999), 999);
}

Outcome make(int status, ErrorKind e, std::chrono::milliseconds latency, std::size_t bytes = 0) {
  Outcome o;
  o.status = status;
  o.error = e;
  o.start = Clock::time_point{};
  o.end = o.start + latency;
  o.body_bytes = bytes;
  return o;
}

TEST(Summary, CountsStatusesErrorsAndLatencies) {
  const std::vector<Outcome> outs{
      make(200, ErrorKind::none, 10ms, 5), make(200, ErrorKind::none, 20ms, 5),
      make(404, ErrorKind::none, 30ms, 1), make(0, ErrorKind::timeout, 40ms),
      make(0, ErrorKind::reset, 50ms)};
  const auto s = summarize(outs, 2s);
  EXPECT_EQ(s.requests, 5U);
  EXPECT_EQ(s.succeeded, 2U);
  EXPECT_EQ(s.failed, 3U) << "the 404 is not a success";
  EXPECT_DOUBLE_EQ(s.wall_s, 2.0);
  EXPECT_DOUBLE_EQ(s.req_per_s, 2.5);
  EXPECT_EQ(s.body_bytes, 11U);
  EXPECT_EQ(s.statuses.at(200), 2U);
  EXPECT_EQ(s.statuses.at(404), 1U);
  EXPECT_EQ(s.errors.at("timeout"), 1U);
  EXPECT_EQ(s.errors.at("reset"), 1U);
  EXPECT_EQ(s.errors.at("connect"), 0U);
  EXPECT_DOUBLE_EQ(s.p50_ms, 30);
  EXPECT_DOUBLE_EQ(s.max_ms, 50);
  EXPECT_DOUBLE_EQ(s.min_ms, 10);
  EXPECT_DOUBLE_EQ(s.mean_ms, 30);
}

}  // namespace
