#include "mock_server/behaviour.hpp"

#include <algorithm>
#include <array>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <cmath>

#include "common/units.hpp"
#include "mock_server/wire.hpp"

namespace iobench::mock {
namespace {

using std::chrono::nanoseconds;

constexpr std::array<std::string_view, 5> kDistNames{"fixed", "uniform", "normal", "exp",
                                                     "lognormal"};
constexpr std::array<std::string_view, 6> kFaultNames{"none", "reset",    "close",
                                                      "hang", "truncate", "garbage"};
constexpr std::string_view kKnownParams =
    "delay, jitter, dist, bytes, status, chunked, drip, fail, seed";

std::string duration_range(const limits& lim) {
  return "0 to " + format_duration(lim.max_delay) + ", e.g. 250us, 100ms, 1.5s";
}

std::string quoted(std::string_view v) {
  std::string out = "'";
  for (const char c : v.substr(0, 64)) {
    // Keep the error a single printable line whatever the client sent.
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (v.size() > 64) out += "...";
  return out + "'";
}

std::optional<std::string> check_duration(std::string_view name, std::string_view raw,
                                          nanoseconds& out, const limits& lim) {
  const auto d = parse_duration(raw);
  if (!d)
    return std::string(name) + ": " + quoted(raw) +
           " is not a duration; accepted: " + duration_range(lim);
  if (*d > lim.max_delay)
    return std::string(name) + ": " + quoted(raw) +
           " is over the limit; accepted: " + duration_range(lim);
  out = *d;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Applies one query parameter; returns the error message when it is rejected.
std::optional<std::string> apply(behaviour& b, std::string_view key, std::string_view value,
                                 const limits& lim) {
  if (key == "delay") return check_duration(key, value, b.delay, lim);
  if (key == "jitter") return check_duration(key, value, b.jitter, lim);
  if (key == "drip") return check_duration(key, value, b.drip, lim);
  if (key == "dist") {
    const auto d = parse_distribution(value);
    if (!d)
      return "dist: " + quoted(value) +
             " is not a distribution; accepted: fixed, uniform, normal, exp, lognormal";
    b.dist = *d;
    return std::nullopt;
  }
  if (key == "bytes") {
    const auto s = parse_size(value);
    const std::string range = "0 to " + format_size(lim.max_bytes) + ", e.g. 512, 4k, 1m";
    if (!s) return "bytes: " + quoted(value) + " is not a size; accepted: " + range;
    if (*s > lim.max_bytes)
      return "bytes: " + quoted(value) + " is over the limit; accepted: " + range;
    b.bytes = *s;
    return std::nullopt;
  }
  if (key == "status") {
    const auto s = parse_u64(value);
    if (!s || *s < 200 || *s > 599)
      return "status: " + quoted(value) + " is not accepted; accepted: 200 to 599";
    b.status = static_cast<int>(*s);
    return std::nullopt;
  }
  if (key == "chunked") {
    if (value != "0" && value != "1")
      return "chunked: " + quoted(value) + " is not accepted; accepted: 0 or 1";
    b.chunked = value == "1";
    return std::nullopt;
  }
  if (key == "fail") {
    const auto f = parse_fault(value);
    if (!f || *f == fault::none)
      return "fail: " + quoted(value) +
             " is not a fault; accepted: reset, close, hang, truncate, garbage";
    b.fail = *f;
    return std::nullopt;
  }
  if (key == "seed") {
    const auto s = parse_u64(value);
    if (!s)
      return "seed: " + quoted(value) +
             " is not accepted; accepted: an integer 0 to 18446744073709551615";
    b.seed = *s;
    return std::nullopt;
  }
  return "unknown parameter " + quoted(key) + "; accepted: " + std::string(kKnownParams);
}

}  // namespace

std::string_view to_string(distribution d) { return kDistNames.at(static_cast<std::size_t>(d)); }
std::string_view to_string(fault f) { return kFaultNames.at(static_cast<std::size_t>(f)); }

std::optional<distribution> parse_distribution(std::string_view s) {
  for (std::size_t i = 0; i < kDistNames.size(); ++i) {
    if (kDistNames[i] == s) return static_cast<distribution>(i);
  }
  return std::nullopt;
}

std::optional<fault> parse_fault(std::string_view s) {
  for (std::size_t i = 0; i < kFaultNames.size(); ++i) {
    if (kFaultNames[i] == s) return static_cast<fault>(i);
  }
  return std::nullopt;
}

std::optional<std::string> validate(const behaviour& b, const limits& lim) {
  if (lim.max_delay < nanoseconds::zero() || lim.max_delay > kMaxDuration) {
    return "max-delay: " + format_duration(lim.max_delay) + " is out of range; accepted: 0 to " +
           format_duration(kMaxDuration) + " (a day)";
  }
  if (b.delay > lim.max_delay) return "delay: over the limit; accepted: " + duration_range(lim);
  if (b.jitter > lim.max_delay) return "jitter: over the limit; accepted: " + duration_range(lim);
  if (b.drip > lim.max_delay) return "drip: over the limit; accepted: " + duration_range(lim);
  if (b.bytes > lim.max_bytes)
    return "bytes: over the limit; accepted: 0 to " + format_size(lim.max_bytes);
  if (b.dist == distribution::uniform && b.jitter > b.delay) {
    return "jitter: " + format_duration(b.jitter) +
           " is over delay; accepted for dist=uniform: 0 to delay (" + format_duration(b.delay) +
           ")";
  }
  if (b.dist == distribution::lognormal && b.delay.count() == 0 && b.jitter.count() > 0) {
    return "delay: must be above 0 for dist=lognormal with jitter (sigma = jitter/delay)";
  }
  if (!wire::status_has_body(b.status) && b.bytes > 0) {
    return "bytes: must be 0 for status " + std::to_string(b.status) + " (no body allowed)";
  }
  return std::nullopt;
}

parse_result parse_behaviour(std::string_view query, const behaviour& defaults, const limits& lim) {
  behaviour b = defaults;
  if (query.empty()) return b;
  // Boost.URL 1.81's parse_query re-measures its input up to a NUL (boostorg/url#757), so a view
  // into a larger buffer would run on past the query: parse a NUL-terminated copy.
  const std::string terminated(query);
  const auto params = boost::urls::parse_query(terminated);
  if (!params) return std::string("query: not a valid query string (bad percent-encoding?)");
  std::array<bool, 9> seen{};
  static constexpr std::array<std::string_view, 9> kOrder{
      "delay", "jitter", "dist", "bytes", "status", "chunked", "drip", "fail", "seed"};
  for (const auto& p : *params) {
    const std::string key = p.key.decode();
    const std::string value = p.value.decode();
    if (key.empty() && !p.has_value) continue;  // tolerate "?&delay=1" and a trailing '&'
    if (const auto it = std::find(kOrder.begin(), kOrder.end(), key); it != kOrder.end()) {
      auto& flag = seen[static_cast<std::size_t>(it - kOrder.begin())];
      if (flag) return key + ": given twice";
      flag = true;
      if (!p.has_value || value.empty()) return key + ": missing value";
    }
    if (auto err = apply(b, key, value, lim)) return std::move(*err);
  }
  if (auto err = validate(b, lim)) return std::move(*err);
  return b;
}

nanoseconds sample_delay(const behaviour& b, std::mt19937_64& rng, nanoseconds cap) {
  const double mean = static_cast<double>(b.delay.count());
  const double spread = static_cast<double>(b.jitter.count());
  double ns = mean;
  switch (b.dist) {
    case distribution::fixed:
      break;
    case distribution::uniform:
      ns = std::uniform_real_distribution<double>(mean - spread, mean + spread)(rng);
      break;
    case distribution::normal:
      if (spread > 0) ns = std::normal_distribution<double>(mean, spread)(rng);
      break;
    case distribution::exp:
      if (mean > 0) ns = std::exponential_distribution<double>(1.0 / mean)(rng);
      break;
    case distribution::lognormal:
      if (mean > 0) {
        // median delay = exp(mu) and sigma = jitter / delay.
        ns = std::lognormal_distribution<double>(std::log(mean), spread / mean)(rng);
      }
      break;
  }
  ns = std::clamp(ns, 0.0, static_cast<double>(cap.count()));
  return nanoseconds{static_cast<std::int64_t>(std::llround(ns))};
}

}  // namespace iobench::mock
