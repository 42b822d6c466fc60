#include "impls/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

namespace iobench {
namespace {

// HdrHistogram's layout with 3 significant digits: 2,048 sub-buckets in the first bucket, 1,024
// (the upper half) in each following power of two.
constexpr unsigned kHalfMagnitude = 10;  // log2(kSubBucketHalf)
constexpr std::uint64_t kSubBucketCount = histogram::kSubBucketHalf * 2;
constexpr std::uint64_t kSubBucketMask = kSubBucketCount - 1;
constexpr unsigned kBuckets = std::bit_width(histogram::kMaxTrackable) - kHalfMagnitude;
constexpr std::size_t kCounters = (kBuckets + 1) * histogram::kSubBucketHalf;
constexpr int kValueDigits = 3;  // significant digits, for the .hgrm columns

unsigned bucket_of(std::uint64_t value) {
  return static_cast<unsigned>(std::bit_width(value | kSubBucketMask)) - (kHalfMagnitude + 1);
}

std::string format(const char* fmt, auto... args) {
  char buf[160];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, static_cast<std::size_t>(std::clamp(n, 0, int{sizeof buf} - 1)));
}

}  // namespace

histogram::histogram() : counts_(kCounters, 0) {}

std::size_t histogram::index_of(std::uint64_t value) {
  value = std::min(value, kMaxTrackable);
  const unsigned bucket = bucket_of(value);
  const std::uint64_t sub = value >> bucket;
  return static_cast<std::size_t>(((std::uint64_t{bucket} + 1) << kHalfMagnitude) + sub -
                                  kSubBucketHalf);
}

std::uint64_t histogram::value_at_index(std::size_t index) {
  if (index < kSubBucketCount) return index;
  const std::uint64_t bucket = (index >> kHalfMagnitude) - 1;
  const std::uint64_t sub = (index & (kSubBucketHalf - 1)) + kSubBucketHalf;
  return sub << bucket;
}

std::uint64_t histogram::highest_equivalent(std::uint64_t value) {
  const unsigned bucket = bucket_of(std::min(value, kMaxTrackable));
  const std::uint64_t lowest = (value >> bucket) << bucket;
  return lowest + (std::uint64_t{1} << bucket) - 1;
}

void histogram::record(std::uint64_t value) {
  ++counts_[index_of(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  const auto v = static_cast<long double>(value);
  sum_ += v;
  sum_squares_ += v * v;
}

void histogram::record(std::chrono::nanoseconds d) {
  record(static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0)));
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  sum_squares_ += other.sum_squares_;
}

void histogram::reset() { *this = histogram(); }

double histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

double histogram::stddev() const {
  if (count_ == 0) return 0.0;
  const long double n = static_cast<long double>(count_);
  const long double m = sum_ / n;
  return static_cast<double>(std::sqrt(std::max(sum_squares_ / n - m * m, 0.0L)));
}

std::uint64_t histogram::value_at_quantile(double q) const {
  if (count_ == 0) return 0;
  if (!(q < 1)) return max_;  // also NaN: the conservative answer
  if (q <= 0) return min();
  // Nearest rank, as impls/summary.hpp's percentile(): the smallest value with at least q of the
  // values at or below it.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_equivalent(value_at_index(i)), min(), max_);
  }
  return max_;
}

void histogram::write_hgrm(std::ostream& out, double unit_ratio, int ticks_per_half) const {
  // The layout and the percentile ticks follow HdrHistogram's outputPercentileDistribution: the
  // ticks halve the distance to 100% every `ticks_per_half` rows (50%, 75%, 87.5%, ...).
  const std::string value_fmt = "%12." + std::to_string(kValueDigits) + "f";
  const std::string row_fmt = value_fmt + " %2.12f %10llu %14.2f\n";
  const std::string last_fmt = value_fmt + " %2.12f %10llu\n";
  auto scaled = [&](double v) { return v / unit_ratio; };
  out << format("%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
  if (count_ > 0) {
    double level = 0;  // the percentile to report next
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      seen += counts_[i];
      const double value = scaled(
          static_cast<double>(std::clamp(highest_equivalent(value_at_index(i)), min(), max_)));
      const double reached = 100.0 * static_cast<double>(seen) / static_cast<double>(count_);
      while (reached >= level) {
        out << format(row_fmt.c_str(), value, level / 100, static_cast<unsigned long long>(seen),
                      1 / (1 - level / 100));
        const double halvings = std::floor(std::log2(100 / (100 - level)));
        level += 100 / (ticks_per_half * std::pow(2.0, halvings + 1));
        if (seen == count_) break;  // at the last value: one tick, then the 100% line
      }
    }
    out << format(last_fmt.c_str(), scaled(static_cast<double>(max_)), 1.0,
                  static_cast<unsigned long long>(count_));
  }
  const std::string stat_fmt = "%12." + std::to_string(kValueDigits) + "f";
  out << format(("#[Mean    = " + stat_fmt + ", StdDeviation   = " + stat_fmt + "]\n").c_str(),
                scaled(mean()), scaled(stddev()));
  out << format(("#[Max     = " + stat_fmt + ", Total count    = %12llu]\n").c_str(),
                scaled(static_cast<double>(max_)), static_cast<unsigned long long>(count_));
  out << format("#[Buckets = %12u, SubBuckets     = %12llu]\n", kBuckets,
                static_cast<unsigned long long>(kSubBucketCount));
}

}  // namespace iobench
