// The suite's arithmetic and definitions: the ideal model, efficiency, names, suites.
#include "suite.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "reference.hpp"

namespace {

using namespace iobench;
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

TEST(IdealModel, OneAtATimeImplsUseConcurrencyOne) {
  for (const auto& i : all_impls()) {
    point p;
    p.impl = std::string(i.info.name);
    p.requests = 4;
    p.delays_ms = {250};
    p.concurrency = 4;
    const bool one = i.info.one_at_a_time;
    EXPECT_EQ(one_at_a_time(p.impl), one) << p.impl;
    EXPECT_EQ(p.effective_concurrency(), one ? 1U : 4U) << p.impl;
    EXPECT_DOUBLE_EQ(ideal_makespan_s(p), one ? 1.0 : 0.25) << p.impl;
  }
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
  p.impl = "io_uring-2.v1";  // any registry name: letters, digits, '_', '.', '-'
  const auto digits = parse_benchmark_name(benchmark_name(p));
  ASSERT_TRUE(digits.has_value());
  EXPECT_EQ(digits->impl, "io_uring-2.v1");
  EXPECT_EQ(digits->requests, 1000U);
  EXPECT_FALSE(parse_benchmark_name("fetch/x/requests:1").has_value());
  EXPECT_FALSE(parse_benchmark_name("BM_other").has_value());
  // Work and a block per response follow the rest, each only when set.
  EXPECT_EQ(back->work_us, 0U);
  EXPECT_EQ(back->block_us, 0U);
  p.work_us = 200;
  p.block_us = 2000;
  EXPECT_EQ(benchmark_name(p),
            "fetch/io_uring-2.v1/requests:1000/delay_ms:100/concurrency:64/bytes:65536/close"
            "/work_us:200/block_us:2000");
  const auto worked = parse_benchmark_name(benchmark_name(p) + "/iterations:3/real_time");
  ASSERT_TRUE(worked.has_value());
  EXPECT_FALSE(worked->keep_alive);
  EXPECT_EQ(worked->work_us, 200U);
  EXPECT_EQ(worked->block_us, 2000U);
  p.keep_alive = true;
  p.block_us = 0;
  const auto work_only = parse_benchmark_name(benchmark_name(p));
  ASSERT_TRUE(work_only.has_value());
  EXPECT_TRUE(work_only->keep_alive);
  EXPECT_EQ(work_only->work_us, 200U);
  EXPECT_EQ(work_only->block_us, 0U);
  EXPECT_FALSE(work_only->tls);
  // https comes after /close and before the work.
  p.keep_alive = false;
  p.tls = true;
  EXPECT_EQ(benchmark_name(p),
            "fetch/io_uring-2.v1/requests:1000/delay_ms:100/concurrency:64/bytes:65536/close"
            "/tls:1/work_us:200");
  const auto tls = parse_benchmark_name(benchmark_name(p) + "/repeats:2");
  ASSERT_TRUE(tls.has_value());
  EXPECT_TRUE(tls->tls);
  EXPECT_FALSE(tls->keep_alive);
  EXPECT_EQ(tls->work_us, 200U);
  EXPECT_FALSE(parse_benchmark_name("fetch/x/requests:1/delay_ms:0/concurrency:1/bytes:0/tls:2"));
}

std::set<std::string> names_of(bool references) {
  std::set<std::string> names;
  for (const auto& i : all_impls()) {
    if (i.reference == references) names.emplace(i.info.name);
  }
  return names;
}

TEST(Impls, AreTheRegistrysModelsThenTheReferences) {
  const auto all = all_impls();
  const auto registered = models();
  ASSERT_EQ(all.size(), registered.size() + references().size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const bool reference = i >= registered.size();
    const auto& want = reference ? references()[i - registered.size()].info : registered[i];
    EXPECT_EQ(all[i].info.name, want.name);
    EXPECT_EQ(all[i].reference, reference) << want.name;
    EXPECT_EQ(find_impl(want.name), &all[i]);
  }
  EXPECT_EQ(find_impl("telepathy"), nullptr);
  EXPECT_FALSE(one_at_a_time("telepathy"));
}

TEST(Impls, ReferencesAreTheChildProgramsAndWrk) {
  std::vector<std::string_view> names;
  for (const auto& r : references()) names.push_back(r.info.name);
  EXPECT_EQ(names,
            (std::vector<std::string_view>{"py_asyncio", "py_threads", "py_sequential", "py_uvloop",
                                           "node_fetch", "go_goroutines", "wrk"}));
  EXPECT_TRUE(is_child_reference("node_fetch"));
  EXPECT_TRUE(is_child_reference("go_goroutines"));
  EXPECT_EQ(reference_unavailable("coroutine"), "") << "no reference: nothing to say";
  EXPECT_TRUE(find_impl("py_sequential")->info.one_at_a_time);
  EXPECT_TRUE(is_child_reference("py_threads"));
  EXPECT_FALSE(is_child_reference("wrk"));
  for (const auto& r : references()) EXPECT_FALSE(r.info.baseline) << r.info.name;
}

TEST(Suites, OpenPointsOfferFractionsOfEachModelsThroughputAndAreNamedByRate) {
  const auto points = suite_points("open", {});
  ASSERT_FALSE(points.empty());
  std::set<std::string> impls;
  for (const auto& p : points) {
    EXPECT_TRUE(p.open_loop());
    EXPECT_FALSE(find_impl(p.impl)->reference) << p.impl;
    EXPECT_GT(p.rate_fraction, 0.0);
    EXPECT_GT(p.duration_s, 0.0);
    EXPECT_EQ(ideal_makespan_s(p), p.duration_s);
    impls.insert(p.impl);
  }
  EXPECT_EQ(impls, names_of(false)) << "every model, sequential included";
  point p = points.front();
  EXPECT_EQ(benchmark_name(p).rfind("open/" + p.impl + "/rate:0.1x/delay_ms:10/concurrency:", 0),
            0U)
      << benchmark_name(p) << ": before calibration the rate is a fraction";
  p.rate = 1234.4;
  EXPECT_EQ(benchmark_name(p), "open/" + p.impl + "/rate:1234/delay_ms:10/concurrency:" +
                                   std::to_string(p.concurrency));
  bool default_has_open = false;
  for (const auto& q : suite_points("default", {})) default_has_open |= q.open_loop();
  EXPECT_TRUE(default_has_open) << "the default report has the open-loop chart";
}

TEST(Suites, EverySuiteCoversEveryImplWithUniqueNames) {
  const auto models = names_of(false);
  const auto references = names_of(true);
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
      if (p.impl == kWrk) {
        EXPECT_EQ(p.delay_ms(), 0) << "wrk is the zero-delay ceiling: " << benchmark_name(p);
      }
      EXPECT_LE(ideal_makespan_s(p), 60.0) << benchmark_name(p);
    }
    // The scale suite runs N = C >= 1,000 requests of 100 ms at once: one request at a time that
    // would be 100 s and more, and wrk only measures zero delay. The open suite is the models'
    // open loop: the references have none.
    const bool scale = suite == "scale";
    const bool open = suite == "open";
    auto expected = [&](const std::string& i) {
      if (open) return !find_impl(i)->reference;
      return !scale || (!one_at_a_time(i) && i != kWrk);
    };
    for (const auto& m : models) {
      if (expected(m)) {
        EXPECT_TRUE(impls.count(m)) << suite << " lacks " << m;
      }
    }
    if (suite == "ci") {
      EXPECT_EQ(impls, models) << "the gate judges our own models only";
    } else if (suite == "work") {
      EXPECT_EQ(impls, models) << "the references do no work per response";
    } else if (suite != "seed") {
      for (const auto& r : references) {
        if (expected(r)) {
          EXPECT_TRUE(impls.count(r)) << suite << " lacks " << r;
        }
      }
    }
  }
}

// A /tls:1 row is only for a model that speaks https, and always beside the same batch in
// plaintext, so that the report can say what TLS cost it.
TEST(Suites, TlsRowsPairWithPlaintextForEveryModelThatSpeaksHttps) {
  for (const std::string_view suite : {"tls", "default", "full"}) {
    const auto points = suite_points(suite, {});
    std::set<std::string> names;
    for (const auto& p : points) names.insert(benchmark_name(p));
    std::set<std::pair<std::string, bool>> tls;  // (impl, keep-alive)
    for (const auto& p : points) {
      if (!p.tls) continue;
      EXPECT_TRUE(find_impl(p.impl)->info.https) << suite << ": " << benchmark_name(p);
      point plain = p;
      plain.tls = false;
      EXPECT_TRUE(names.count(benchmark_name(plain)))
          << suite << " lacks " << benchmark_name(plain);
      tls.emplace(p.impl, p.keep_alive);
    }
    for (const auto& i : all_impls()) {
      if (i.reference && suite != "tls") continue;  // default and full: our models' pair only
      if (i.info.name == kWrk && suite != "tls") continue;  // its ceilings are plaintext there
      for (const bool keep_alive : {true, false}) {
        // wrk only keeps connections alive.
        const bool has = i.info.https && (keep_alive || i.info.name != kWrk);
        EXPECT_EQ(tls.count({std::string(i.info.name), keep_alive}), has ? 1U : 0U)
            << suite << ": " << i.info.name << (keep_alive ? " keep-alive" : " close");
      }
    }
  }
}

TEST(Suites, CiMeasuresTheBaselineAtConcurrencyOne) {
  // speedup_vs_sequential needs the baseline at every delay the batches are measured at.
  const auto points = suite_points("ci", {});
  for (const auto& m : models()) {
    if (!m.baseline) continue;
    for (const auto& batch : points) {
      if (batch.delay_ms() == 0 || batch.concurrency == 1) continue;
      bool found = false;
      for (const auto& p : points) {
        found =
            found || (p.impl == m.name && p.concurrency == 1 && p.delay_ms() == batch.delay_ms());
      }
      EXPECT_TRUE(found) << m.name << " at " << batch.delay_ms() << " ms";
    }
  }
}

TEST(Suites, WrkRowsLineUpWithTheModelsTheyCap) {
  const auto points = suite_points("default", {});
  for (const auto& w : points) {
    if (w.impl != kWrk) continue;
    for (const auto& m : models()) {
      if (m.one_at_a_time && w.concurrency > 1) continue;
      bool matched = false;
      for (const auto& p : points) {
        matched = matched || (p.impl == m.name && p.requests == w.requests && p.delay_ms() == 0 &&
                              p.concurrency == w.concurrency && p.keep_alive);
      }
      EXPECT_TRUE(matched) << benchmark_name(w) << " has no " << m.name << " beside it";
    }
  }
}

TEST(Suites, DefaultHasWhatEveryChartNeeds) {
  const auto points = suite_points("default", {});
  auto has = [&](std::string_view impl, std::size_t n, int l, std::size_t c) {
    for (const auto& p : points) {
      if (p.impl == impl && p.requests == n && p.delay_ms() == l && p.concurrency == c) return true;
    }
    return false;
  };
  for (const auto& m : models()) {
    if (m.one_at_a_time) {
      // The baseline draws the N x L line to N = 100 (10 s); the others to N = 10.
      EXPECT_TRUE(has(m.name, 10, 100, 1)) << m.name;
      EXPECT_EQ(has(m.name, 100, 100, 1), m.baseline) << m.name;
      continue;
    }
    for (std::size_t n : {1, 10, 100, 1000}) EXPECT_TRUE(has(m.name, n, 100, n)) << m.name << n;
    for (std::size_t c : {1, 4, 16, 64, 256}) {
      EXPECT_TRUE(has(m.name, std::max<std::size_t>(2000, 20 * c), 0, c)) << m.name << c;
      EXPECT_TRUE(has(m.name, std::max<std::size_t>(50, 20 * c), 10, c)) << m.name << c;
    }
  }
  // The three seed claims, once for each concurrent model and reference, and for the baseline:
  // the claims' "one after another" side (up to 4 s a row) is the baseline's alone.
  std::map<std::string, std::size_t> claims;
  for (const auto& p : points) claims[p.impl] += p.label.empty() ? 0 : 1;
  for (const auto& i : all_impls()) {
    if (i.info.name == kWrk) continue;
    const bool seeded = !i.info.one_at_a_time || i.info.baseline;
    EXPECT_EQ(claims[std::string(i.info.name)], seeded ? 3U : 0U) << i.info.name;
  }
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
