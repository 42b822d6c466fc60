#include "common/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace iobench {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Splits "1.5ms" into the number and the unit; the number must be a plain non-negative decimal
// (no sign, no exponent, no hex), so "1e3" or "-5" are rejected rather than guessed at.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
  std::size_t i = 0;
  bool digits = false;
  bool dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!digits) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc{} || end != text.data() + i || !std::isfinite(value)) return std::nullopt;
  return std::pair{value, text.substr(i)};
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const auto parts = split_number(text);
  if (!parts) return std::nullopt;
  const auto [value, unit] = *parts;
  double scale = 0;  // nanoseconds per unit
  if (unit.empty() || unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m") {
    scale = 60e9;
  } else {
    return std::nullopt;
  }
  const double ns = std::round(value * scale);
  if (ns > static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2)) return std::nullopt;
  return std::chrono::nanoseconds{static_cast<std::int64_t>(ns)};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc{} || end != text.data() + i) return std::nullopt;
  const std::string_view unit = text.substr(i);
  struct suffix {
    std::string_view name;
    unsigned shift;
  };
  static constexpr std::array<suffix, 12> kSuffixes{{{"", 0},
                                                     {"b", 0},
                                                     {"k", 10},
                                                     {"kb", 10},
                                                     {"kib", 10},
                                                     {"m", 20},
                                                     {"mb", 20},
                                                     {"mib", 20},
                                                     {"g", 30},
                                                     {"gb", 30},
                                                     {"gib", 30},
                                                     {"bytes", 0}}};
  for (const auto& s : kSuffixes) {
    if (!iequals(unit, s.name)) continue;
    if (s.shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> s.shift)) {
      return std::nullopt;
    }
    return value << s.shift;
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::nanoseconds d) {
  const auto ns = d.count();
  const auto fmt = [](double v, const char* unit) {
    std::array<char, 32> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return std::string(buf.data(), end) + unit;
  };
  if (ns == 0) return "0ms";
  if (ns % 1'000'000'000 == 0 || ns >= 10'000'000'000)
    return fmt(static_cast<double>(ns) / 1e9, "s");
  if (ns % 1'000'000 == 0 || ns >= 1'000'000) return fmt(static_cast<double>(ns) / 1e6, "ms");
  if (ns % 1'000 == 0 || ns >= 1'000) return fmt(static_cast<double>(ns) / 1e3, "us");
  return fmt(static_cast<double>(ns), "ns");
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % (1ULL << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes != 0 && bytes % (1ULL << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes != 0 && bytes % (1ULL << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes);
}

}  // namespace iobench
