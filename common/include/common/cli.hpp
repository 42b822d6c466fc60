// A small command-line reader shared by the project's executables: `--name value` and
// `--name=value`, typed getters that fail with one clear line, and the exit codes every iobench
// executable uses (0 ok, 2 usage error).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace iobench::cli {

/// Exit code for bad command-line input, shared by every executable.
inline constexpr int kUsageExit = 2;

/// A bad command line; main() prints "<program>: <what>" and exits kUsageExit.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Walks argv once. Typical loop:
///   while (args.next()) { if (args.is("--port")) port = args.u64(); else args.unknown(); }
class arg_reader {
 public:
  arg_reader(int argc, char** argv);

  /// Advances to the next argument; false when all are consumed.
  bool next();
  /// True when the current argument is `name` or `name=...`.
  [[nodiscard]] bool is(std::string_view name) const;
  /// True when the current argument is not an option (a positional value).
  [[nodiscard]] bool positional() const;
  /// The current argument as written.
  [[nodiscard]] std::string_view current() const { return current_; }

  /// The option's value: after '=' or the next argument. Throws usage_error if there is none,
  /// or if the next argument looks like a flag (`--impl -n 5`: -n is not the impl's name).
  /// NOTE: "-5", "-.5" and "-" are values (a number, stdin), not flags.
  std::string value();
  /// The option's value even when the next argument starts with '-', for flags whose value is
  /// itself a command line (`--server-args "--threads 2"`). Throws usage_error if there is none.
  std::string verbatim_value();
  std::uint64_t u64(std::uint64_t min = 0, std::uint64_t max = UINT64_MAX);
  std::chrono::nanoseconds duration();
  std::uint64_t size();
  /// Throws usage_error naming the current argument as unknown.
  [[noreturn]] void unknown() const;
  /// Rejects a value given to a flag that takes none (`--help=x`).
  void no_value() const;

 private:
  std::vector<std::string_view> args_;
  std::size_t index_ = 0;
  std::string_view current_;
  std::string_view name_;
  std::string_view inline_value_;
  bool has_inline_value_ = false;
};

/// One choice in a help text: its name and a one-line description.
struct help_row {
  std::string_view name;
  std::string_view text;
};

/// Help-text lines, one per row: `indent` spaces, the name padded to the longest name, the text.
std::string format_help_rows(std::span<const help_row> rows, std::size_t indent);

}  // namespace iobench::cli
