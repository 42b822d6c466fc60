// What one request to the behaviour endpoint asks the mock server to do, parsed from its query
// string on top of the server's defaults. Every value is checked against the limits; a bad value
// is an error message naming the parameter and its accepted range, never a silent clamp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>

namespace iobench::mock {

/// How the delay before the response is sampled.
enum class distribution {
  fixed,      ///< exactly `delay`
  uniform,    ///< uniform in [delay - jitter, delay + jitter]; needs jitter <= delay
  normal,     ///< mean `delay`, standard deviation `jitter`, negative samples cut at 0
  exp,        ///< exponential with mean `delay`
  lognormal,  ///< median `delay`, sigma = jitter / delay
};

/// A fault to deliver instead of a normal answer (after the delay, except `hang`).
enum class fault {
  none,
  reset,     ///< TCP RST right after the request
  close,     ///< close the connection with no answer
  hang,      ///< never answer; the connection stays open until the client leaves
  truncate,  ///< announce the body, send half of it, close
  garbage,   ///< send bytes that are not HTTP, close
};

/// The parsed, validated shape of one response.
struct behaviour {
  std::chrono::nanoseconds delay{0};
  std::chrono::nanoseconds jitter{0};
  distribution dist = distribution::fixed;
  std::uint64_t bytes = 0;
  int status = 200;
  bool chunked = false;
  std::chrono::nanoseconds drip{0};
  fault fail = fault::none;
  /// When set, the delay is sampled from a generator seeded with this value alone.
  std::optional<std::uint64_t> seed;
};

/// The longest duration any flag or limit may be: a day. Far below the ~292 years a
/// std::chrono::nanoseconds holds, so a deadline built from such durations cannot overflow.
inline constexpr std::chrono::nanoseconds kMaxDuration = std::chrono::hours{24};

/// Upper bounds for request parameters; values above them are rejected with 400.
/// REQUIRES: max_delay <= kMaxDuration (validate() checks).
struct limits {
  std::chrono::nanoseconds max_delay = std::chrono::seconds{60};
  std::uint64_t max_bytes = std::uint64_t{64} << 20;
};

/// Body length announced by `fail=truncate` when the request asked for no body, so that there is
/// a half to send and a half to miss.
inline constexpr std::uint64_t kTruncateDefaultBytes = 1024;

/// Either a behaviour or the one-line reason the query was rejected.
using parse_result = std::variant<behaviour, std::string>;

/// Parses a raw (percent-encoded) query string such as "delay=100ms&bytes=4k" over `defaults`.
parse_result parse_behaviour(std::string_view query, const behaviour& defaults, const limits& lim);

/// Checks a behaviour assembled elsewhere (the server's command-line defaults) against the same
/// rules as a query, and the limits themselves; returns the error, if any.
std::optional<std::string> validate(const behaviour& b, const limits& lim);

/// Samples the delay for one request. Results are cut to [0, cap].
std::chrono::nanoseconds sample_delay(const behaviour& b, std::mt19937_64& rng,
                                      std::chrono::nanoseconds cap);

/// Names as they appear in queries and flags.
std::string_view to_string(distribution d);
std::string_view to_string(fault f);
std::optional<distribution> parse_distribution(std::string_view s);
std::optional<fault> parse_fault(std::string_view s);

}  // namespace iobench::mock
