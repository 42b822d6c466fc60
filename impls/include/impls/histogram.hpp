// A latency histogram in HdrHistogram's log-linear layout, for open-loop runs where keeping every
// sample is not an option (a minute at 50,000 requests/s is three million of them).
//
// Values are non-negative integers (nanoseconds, for latencies). Below 2,048 every value has its
// own counter; above, each power of two is split into 1,024 equal sub-buckets, so a value is
// known to within 1/1,024 of itself (< 0.1% relative error) from 1 ns to 2^43 ns (about 2.4 hours)
// in 34,816 counters. Count, min, max, mean and standard deviation are exact (kept beside the
// counters); percentiles are the upper edge of the sub-bucket holding the nearest-rank value, so
// they are never below the true value and never more than 0.1% above it, and never outside
// [min, max]. Histograms of the same layout merge by adding counters.
//
// No Debian package carries HdrHistogram for C or C++, hence this one; write_hgrm() emits
// HdrHistogram's percentile-distribution text so its plotters read our files.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <vector>

namespace iobench {

/// Log-linear histogram of non-negative integer values (see the file note).
class histogram {
 public:
  /// Largest value kept apart from its neighbours; larger values are counted at this value (their
  /// min/max/mean stay exact).
  static constexpr std::uint64_t kMaxTrackable = (std::uint64_t{1} << 43) - 1;
  /// Sub-buckets per power of two; sets the relative error (1 / kSubBucketHalf).
  static constexpr std::uint64_t kSubBucketHalf = 1024;

  histogram();

  /// Records one value.
  void record(std::uint64_t value);
  /// Records a duration in nanoseconds (negative durations count as 0).
  void record(std::chrono::nanoseconds d);
  /// Adds every value of `other`.
  void merge(const histogram& other);
  /// Forgets every value.
  void reset();

  [[nodiscard]] std::uint64_t count() const { return count_; }
  /// Smallest and largest value recorded, exactly; 0 when empty.
  [[nodiscard]] std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const { return max_; }
  /// Exact mean and (population) standard deviation; 0 when empty.
  [[nodiscard]] double mean() const;
  [[nodiscard]] double stddev() const;
  /// The nearest-rank value at quantile q in [0, 1] (q = 1: max), within 0.1% above the true one.
  [[nodiscard]] std::uint64_t value_at_quantile(double q) const;

  /// Writes HdrHistogram's percentile distribution ("Value Percentile TotalCount
  /// 1/(1-Percentile)" rows, then the Mean/StdDeviation/Max/Total count footer), values divided
  /// by `unit_ratio` (1e6 turns nanoseconds into milliseconds).
  void write_hgrm(std::ostream& out, double unit_ratio, int ticks_per_half_distance = 5) const;

  /// The upper edge of the sub-bucket holding `value` (what percentiles report).
  [[nodiscard]] static std::uint64_t highest_equivalent(std::uint64_t value);

 private:
  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t value_at_index(std::size_t index);

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
  long double sum_squares_ = 0;
};

}  // namespace iobench
