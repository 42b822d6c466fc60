// The open-loop latency histogram: percentiles against exact ones on a million values, exact
// count/min/max/mean, merging, and the HdrHistogram percentile-distribution text.
#include "impls/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>
#include <sstream>

#include "impls/summary.hpp"

namespace {

using iobench::histogram;

std::vector<std::uint64_t> lognormal_ns(std::size_t n, std::uint64_t seed) {
  // Latency-like: a median of 2 ms with a long tail, from 1 us to seconds.
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(std::log(2e6), 1.2);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = static_cast<std::uint64_t>(std::max(1.0, dist(rng)));
  return v;
}

std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double q) {
  const auto rank = std::max<std::size_t>(
      1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size()))));
  return sorted[std::min(rank, sorted.size()) - 1];
}

TEST(Histogram, PercentilesOfAMillionValuesAreWithinATenthOfAPercent) {
  auto values = lognormal_ns(1'000'000, 42);
  histogram h;
  for (auto v : values) h.record(v);
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0}) {
    const double want = static_cast<double>(exact(values, q));
    const double got = static_cast<double>(h.value_at_quantile(q));
    EXPECT_GE(got, want) << "q=" << q << ": never below the true value";
    EXPECT_LE((got - want) / want, 0.001) << "q=" << q << " want " << want << " got " << got;
  }
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
}

TEST(Histogram, CountMinMaxMeanAndDeviationAreExact) {
  histogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.min(), 0U);
  EXPECT_EQ(h.value_at_quantile(0.5), 0U);
  for (std::uint64_t v : {10U, 20U, 30U, 40U}) h.record(v);
  EXPECT_EQ(h.count(), 4U);
  EXPECT_EQ(h.min(), 10U);
  EXPECT_EQ(h.max(), 40U);
  EXPECT_DOUBLE_EQ(h.mean(), 25.0);
  EXPECT_NEAR(h.stddev(), std::sqrt(125.0), 1e-9);
  EXPECT_EQ(h.value_at_quantile(0.5), 20U) << "small values are exact";
  h.record(std::chrono::nanoseconds{-5});
  EXPECT_EQ(h.min(), 0U) << "a negative duration counts as 0";
}

TEST(Histogram, ValuesBeyondTheRangeKeepExactExtremes) {
  histogram h;
  h.record(UINT64_MAX);
  h.record(1);
  EXPECT_EQ(h.max(), UINT64_MAX);
  EXPECT_EQ(h.value_at_quantile(1.0), UINT64_MAX);
  EXPECT_EQ(h.value_at_quantile(0.5), 1U);
}

TEST(Histogram, MergingEqualsRecordingEverythingInOne) {
  const auto a = lognormal_ns(50'000, 1);
  const auto b = lognormal_ns(70'000, 2);
  histogram ha, hb, all;
  for (auto v : a) ha.record(v), all.record(v);
  for (auto v : b) hb.record(v), all.record(v);
  ha.merge(hb);
  EXPECT_EQ(ha.count(), all.count());
  EXPECT_EQ(ha.min(), all.min());
  EXPECT_EQ(ha.max(), all.max());
  EXPECT_DOUBLE_EQ(ha.mean(), all.mean());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    EXPECT_EQ(ha.value_at_quantile(q), all.value_at_quantile(q)) << q;
  }
  histogram empty;
  ha.merge(empty);
  EXPECT_EQ(ha.count(), all.count());
  empty.merge(ha);
  EXPECT_EQ(empty.min(), all.min());
}

TEST(Histogram, AgreesWithTheExactSummaryPercentile) {
  // Same definition of a percentile (nearest rank) as impls/summary.hpp, up to the bucket.
  const auto values = lognormal_ns(10'000, 7);
  histogram h;
  std::vector<double> ms;
  for (auto v : values) h.record(v), ms.push_back(static_cast<double>(v) / 1e6);
  std::sort(ms.begin(), ms.end());
  for (double q : {0.5, 0.9, 0.99}) {
    const double want = iobench::percentile(ms, q);
    const double got = static_cast<double>(h.value_at_quantile(q)) / 1e6;
    EXPECT_NEAR(got, want, want * 0.001) << q;
  }
}

TEST(Histogram, WritesHdrHistogramsPercentileDistribution) {
  histogram h;
  for (auto v : lognormal_ns(100'000, 3)) h.record(v);
  std::ostringstream out;
  h.write_hgrm(out, 1e6);  // ns -> ms
  std::istringstream in(out.str());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
  std::getline(in, line);
  EXPECT_EQ(line, "");
  const std::regex row(R"(^\s*(\d+\.\d{3}) (\d\.\d{12})\s+(\d+)\s+(\d+\.\d{2}|inf)$)");
  const std::regex last(R"(^\s*(\d+\.\d{3}) (1\.0{12})\s+(\d+)$)");
  double prev_value = -1, prev_pct = -1;
  std::uint64_t prev_count = 0;
  int rows = 0;
  bool saw_last = false;
  while (std::getline(in, line) && !line.starts_with("#")) {
    std::smatch m;
    if (std::regex_match(line, m, last)) {
      saw_last = true;
      EXPECT_EQ(std::stoull(m[3]), h.count());
      EXPECT_NEAR(std::stod(m[1]), static_cast<double>(h.max()) / 1e6, 0.0005);
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, row)) << "'" << line << "'";
    EXPECT_FALSE(saw_last) << "the 100% line is the last row";
    const double value = std::stod(m[1]), pct = std::stod(m[2]);
    const std::uint64_t count = std::stoull(m[3]);
    EXPECT_GE(value, prev_value);
    EXPECT_GT(pct, prev_pct);
    EXPECT_GE(count, prev_count);
    EXPECT_NEAR(std::stod(m[4]), 1 / (1 - pct), 0.01);
    prev_value = value, prev_pct = pct, prev_count = count;
    ++rows;
  }
  EXPECT_TRUE(saw_last);
  EXPECT_GT(rows, 50) << "ticks halve the distance to 100% five at a time";
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(^#\[Mean    = \s*\d+\.\d{3}, StdDeviation   = \s*\d+\.\d{3}\]$)")))
      << line;
  std::getline(in, line);
  EXPECT_TRUE(std::regex_match(
      line, std::regex(R"(^#\[Max     = \s*\d+\.\d{3}, Total count    = \s*100000\]$)")))
      << line;
  std::getline(in, line);
  EXPECT_TRUE(line.starts_with("#[Buckets = ")) << line;
}

TEST(Histogram, AnEmptyHistogramWritesHeaderAndFooterOnly) {
  std::ostringstream out;
  histogram().write_hgrm(out, 1e6);
  EXPECT_NE(out.str().find("Total count    =            0]"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find(" 1.000000000000 "), std::string::npos);
}

}  // namespace
