// The suite's arithmetic and definitions: the ideal model, efficiency, names, suites.
#include "suite.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace iobench::bench;

TEST(IdealModel, UniformDelaysTakeCeilNOverCWaves) {
  const std::vector<int> ten(10, 100);
  EXPECT_DOUBLE_EQ(ideal_makespan_s(ten, 1), 1.0);
  EXPECT_DOUBLE_EQ(ideal_makespan_s(ten, 3), 0.4);  // ceil(10/3) = 4 waves
  EXPECT_DOUBLE_EQ(ideal_makespan_s(ten, 10), 0.1);
  EXPECT_DOUBLE_EQ(ideal_makespan_s(ten, 1000), 0.1) << "C is capped at N";
  EXPECT_DOUBLE_EQ(ideal_makespan_s(std::vector<int>{}, 4), 0.0);
  EXPECT_DOUBLE_EQ(ideal_makespan_s(std::vector<int>(5, 0), 2), 0.0);
}

TEST(IdealModel, MixedDelaysAreListScheduledInOrder) {
  const std::vector<int> sites{120, 250, 380, 500, 650, 800};
  EXPECT_DOUBLE_EQ(ideal_makespan_s(sites, 6), 0.8) << "all at once: the slowest";
  EXPECT_DOUBLE_EQ(ideal_makespan_s(sites, 1), 2.7) << "one at a time: the sum";
  // Two workers: 120|250 -> 380 joins at 0.12 (ends 0.5), 500 at 0.25 (0.75),
  // 650 at 0.5 (1.15), 800 at 0.75 (1.55).
  EXPECT_NEAR(ideal_makespan_s(sites, 2), 1.55, 1e-12);
}

TEST(IdealModel, SequentialPointsUseConcurrencyOne) {
  point p;
  p.impl = "sequential";
  p.requests = 4;
  p.delays_ms = {250};
  p.concurrency = 4;
  EXPECT_EQ(p.effective_concurrency(), 1U);
  EXPECT_DOUBLE_EQ(ideal_makespan_s(p), 1.0);
  p.impl = "coroutine";
  EXPECT_DOUBLE_EQ(ideal_makespan_s(p), 0.25);
}

TEST(Efficiency, IsIdealOverMeasured) {
  EXPECT_DOUBLE_EQ(efficiency(1.0, 1.25), 0.8);
  EXPECT_DOUBLE_EQ(efficiency(1.0, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(efficiency(0.0, 1.0), 0.0) << "nothing to overlap at zero delay";
  EXPECT_DOUBLE_EQ(efficiency(1.0, 0.0), 0.0);
}

TEST(Names, FollowTheContractAndParseBack) {
  point p;
  p.impl = "curl_multi";
  p.requests = 1000;
  p.delays_ms = {100};
  p.concurrency = 64;
  p.bytes = 65536;
  EXPECT_EQ(benchmark_name(p),
            "fetch/curl_multi/requests:1000/delay_ms:100/concurrency:64/bytes:65536");
  p.keep_alive = false;
  EXPECT_EQ(benchmark_name(p),
            "fetch/curl_multi/requests:1000/delay_ms:100/concurrency:64/bytes:65536/close");
  const auto back = parse_benchmark_name(benchmark_name(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->impl, "curl_multi");
  EXPECT_EQ(back->requests, 1000U);
  EXPECT_EQ(back->delay_ms(), 100);
  EXPECT_EQ(back->concurrency, 64U);
  EXPECT_EQ(back->bytes, 65536U);
  EXPECT_FALSE(back->keep_alive);
  EXPECT_FALSE(parse_benchmark_name("fetch/x/requests:1").has_value());
  EXPECT_FALSE(parse_benchmark_name("BM_other").has_value());
}

TEST(Suites, EverySuiteCoversEveryImplWithUniqueNames) {
  for (const auto suite : suite_names()) {
    const auto points = suite_points(suite, {});
    std::set<std::string> names;
    std::set<std::string> impls;
    for (const auto& p : points) {
      EXPECT_TRUE(names.insert(benchmark_name(p)).second) << suite << ": " << benchmark_name(p);
      impls.insert(p.impl);
      if (one_at_a_time(p.impl)) {
        EXPECT_EQ(p.concurrency, 1U) << benchmark_name(p);
      }
      if (p.impl == "wrk") {
        EXPECT_EQ(p.delay_ms(), 0) << "wrk is the zero-delay ceiling: " << benchmark_name(p);
      }
      EXPECT_LE(ideal_makespan_s(p), 60.0) << benchmark_name(p);
    }
    const std::set<std::string> models{"sequential", "thread_pool", "coroutine", "curl_multi"};
    for (const auto& m : models) EXPECT_TRUE(impls.count(m)) << suite << " lacks " << m;
    if (suite == "ci") {
      EXPECT_EQ(impls, models) << "the gate judges our own models only";
    } else if (suite != "seed") {
      for (const char* r : {"py_asyncio", "py_threads", "py_sequential", "wrk"}) {
        EXPECT_TRUE(impls.count(r)) << suite << " lacks " << r;
      }
    }
  }
}

TEST(Suites, WrkRowsLineUpWithTheModelsTheyCap) {
  const auto points = suite_points("default", {});
  for (const auto& w : points) {
    if (w.impl != "wrk") continue;
    bool matched = false;
    for (const auto& p : points) {
      matched = matched || (p.impl == "coroutine" && p.requests == w.requests &&
                            p.delay_ms() == 0 && p.concurrency == w.concurrency && p.keep_alive);
    }
    EXPECT_TRUE(matched) << benchmark_name(w);
  }
}

TEST(Suites, DefaultHasWhatEveryChartNeeds) {
  const auto points = suite_points("default", {});
  auto has = [&](const std::string& impl, std::size_t n, int l, std::size_t c) {
    for (const auto& p : points) {
      if (p.impl == impl && p.requests == n && p.delay_ms() == l && p.concurrency == c) return true;
    }
    return false;
  };
  for (std::size_t n : {1, 10, 100, 1000}) EXPECT_TRUE(has("coroutine", n, 100, n)) << n;
  EXPECT_TRUE(has("sequential", 100, 100, 1));
  for (std::size_t c : {1, 4, 16, 64, 256}) {
    EXPECT_TRUE(has("thread_pool", std::max<std::size_t>(2000, 20 * c), 0, c)) << c;
    EXPECT_TRUE(has("curl_multi", std::max<std::size_t>(200, 20 * c), 10, c)) << c;
  }
  std::size_t claims = 0;
  for (const auto& p : points) claims += !p.label.empty();
  EXPECT_EQ(claims, 3U * 7U) << "three seed claims for each model and Python reference";
}

TEST(Suites, FullSpansTheIssuesRanges) {
  const auto points = suite_points("full", {});
  std::set<int> delays;
  std::size_t max_n = 0;
  std::size_t max_c = 0;
  std::set<std::size_t> bytes;
  for (const auto& p : points) {
    delays.insert(p.delay_ms());
    max_n = std::max(max_n, p.requests);
    max_c = std::max(max_c, p.concurrency);
    bytes.insert(p.bytes);
  }
  EXPECT_TRUE(delays.count(0) && delays.count(1) && delays.count(10) && delays.count(100));
  EXPECT_EQ(max_n, 10000U);
  EXPECT_EQ(max_c, 10000U);
  EXPECT_TRUE(bytes.count(0) && bytes.count(65536));
}

TEST(Suites, ImplsFilterAndUnknownNames) {
  const std::vector<std::string> only{"coroutine"};
  for (const auto& p : suite_points("quick", only)) EXPECT_EQ(p.impl, "coroutine");
  const std::vector<std::string> bad{"telepathy"};
  EXPECT_THROW(suite_points("quick", bad), std::invalid_argument);
  EXPECT_THROW(suite_points("gigantic", {}), std::invalid_argument);
}

TEST(Suites, CiRepeatsEveryBenchmarkAtLeastSixTimes) {
  for (const auto& p : suite_points("ci", {})) EXPECT_GE(p.repetitions, 6) << benchmark_name(p);
}

}  // namespace
