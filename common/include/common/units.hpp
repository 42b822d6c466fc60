// Durations and sizes as people type them: "250us", "100ms", "1.5s", "4k", "64MiB".
// Shared by the server's query parser and every command line in the project.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iobench {

/// Parses a duration: a non-negative decimal with unit ns, us, ms, s or m; a bare number is ms.
/// Returns nullopt for anything else (negative, empty, unknown unit, overflow).
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Parses a byte size: a non-negative integer, optionally with k/KiB or m/MiB or g/GiB (powers
/// of 1024, case-insensitive). Returns nullopt for anything else.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// Formats a duration the way parse_duration reads it back: "100ms", "1.5s", "250us".
std::string format_duration(std::chrono::nanoseconds d);

/// Formats a size the way parse_size reads it back: "512", "4KiB", "64MiB".
std::string format_size(std::uint64_t bytes);

/// Milliseconds as a double, for reports and headers.
inline double to_ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

}  // namespace iobench
