#include "mock_server/stats.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <thread>
#include <vector>

namespace {

using iobench::mock::latency_histogram;
using iobench::mock::server_stats;

TEST(Histogram, SmallValuesAreExact) {
  for (std::uint64_t v = 0; v < 64; ++v) {
    EXPECT_EQ(latency_histogram::bucket_upper(latency_histogram::bucket_of(v)), v);
  }
}

TEST(Histogram, BucketsCoverEveryValueWithinThreePercent) {
  for (std::uint64_t v : {64ULL, 65ULL, 100ULL, 999ULL, 1000ULL, 1001ULL, 123456ULL,
                          (1ULL << 40) + 12345, ~0ULL >> 1}) {
    const auto upper = latency_histogram::bucket_upper(latency_histogram::bucket_of(v));
    EXPECT_GE(upper, v);
    EXPECT_LE(static_cast<double>(upper - v), 0.032 * static_cast<double>(v)) << v;
  }
}

TEST(Histogram, QuantilesOfAKnownSet) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 1000U);
  EXPECT_EQ(h.max(), 1000U);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.5)), 500.0, 500 * 0.032);
  EXPECT_NEAR(static_cast<double>(h.quantile(0.99)), 990.0, 990 * 0.032);
  EXPECT_EQ(h.quantile(1.0), 1000U) << "capped at the exact max";
  h.reset();
  EXPECT_EQ(h.quantile(0.5), 0U);
  EXPECT_EQ(h.count(), 0U);
}

TEST(Histogram, ConcurrentRecordsAreAllCounted) {
  latency_histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.record(static_cast<std::uint64_t>(i % 500));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 40000U);
  EXPECT_EQ(h.max(), 499U);
}

TEST(Stats, MaxInFlightTracksThePeak) {
  server_stats s;
  s.begin_flight();
  s.begin_flight();
  s.begin_flight();
  s.end_flight();
  s.begin_flight();
  EXPECT_EQ(s.snapshot().in_flight, 3);
  EXPECT_EQ(s.snapshot().max_in_flight, 3);
  s.reset();
  EXPECT_EQ(s.snapshot().in_flight, 3) << "a gauge survives reset";
  EXPECT_EQ(s.snapshot().max_in_flight, 3) << "the peak restarts from the current level";
}

TEST(Stats, JsonHasEveryDocumentedKey) {
  server_stats s;
  s.on_request();
  s.on_response(200);
  s.on_response(503);
  s.on_response(503);
  s.on_late(120);
  const auto doc = boost::json::parse(s.snapshot().to_json()).as_object();
  for (const char* key : {"requests", "responses", "in_flight", "max_in_flight",
                          "connections_accepted", "connections_open", "bad_requests", "faults",
                          "cancelled", "bytes_sent", "request_body_bytes", "late_us"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  EXPECT_EQ(doc.at("requests").as_int64(), 1);
  EXPECT_EQ(doc.at("responses").at("503").as_int64(), 2);
  EXPECT_EQ(doc.at("late_us").at("p50").as_int64(), 120);
  EXPECT_EQ(doc.at("late_us").at("max").as_int64(), 120);
  EXPECT_TRUE(doc.at("late_us").as_object().contains("p99"));
}

}  // namespace
