#include "common/cli.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/units.hpp"

namespace iobench::cli {
namespace {

// "-n", "--impl", "-x5": a flag. "-5", "-.5", "-": a value (a negative number, stdin).
bool looks_like_flag(std::string_view arg) {
  return arg.size() >= 2 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) &&
         arg[1] != '.';
}

}  // namespace

arg_reader::arg_reader(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) args_.emplace_back(argv[i]);
}

bool arg_reader::next() {
  if (index_ >= args_.size()) return false;
  current_ = args_[index_++];
  has_inline_value_ = false;
  name_ = current_;
  if (current_.starts_with("--")) {
    if (const auto eq = current_.find('='); eq != std::string_view::npos) {
      name_ = current_.substr(0, eq);
      inline_value_ = current_.substr(eq + 1);
      has_inline_value_ = true;
    }
  }
  return true;
}

bool arg_reader::is(std::string_view name) const { return name_ == name; }

bool arg_reader::positional() const { return current_.empty() || current_[0] != '-'; }

std::string arg_reader::value() {
  // A separate value that looks like a flag is the next flag, not a value: taking it would
  // swallow that flag (`--impl -n 5` reading "-n" as the impl's name and 5 as the URL).
  if (!has_inline_value_ && index_ < args_.size() && looks_like_flag(args_[index_])) {
    throw usage_error(std::string(name_) + ": missing value ('" + std::string(args_[index_]) +
                      "' is a flag; write " + std::string(name_) +
                      "=VALUE for a value starting with '-')");
  }
  return verbatim_value();
}

std::string arg_reader::verbatim_value() {
  if (has_inline_value_) return std::string(inline_value_);
  if (index_ >= args_.size()) throw usage_error(std::string(name_) + ": missing value");
  return std::string(args_[index_++]);
}

std::uint64_t arg_reader::u64(std::uint64_t min, std::uint64_t max) {
  const std::string text = value();
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < min || v > max) {
    throw usage_error(std::string(name_) + ": expected an integer in " + std::to_string(min) +
                      ".." + std::to_string(max) + " (got '" + text + "')");
  }
  return v;
}

std::chrono::nanoseconds arg_reader::duration() {
  const std::string text = value();
  const auto d = parse_duration(text);
  if (!d) {
    throw usage_error(std::string(name_) + ": expected a duration like 250us, 100ms, 1.5s (got '" +
                      text + "')");
  }
  return *d;
}

std::uint64_t arg_reader::size() {
  const std::string text = value();
  const auto s = parse_size(text);
  if (!s) {
    throw usage_error(std::string(name_) + ": expected a size like 512, 4k, 1m (got '" + text +
                      "')");
  }
  return *s;
}

void arg_reader::unknown() const {
  if (positional()) throw usage_error("unexpected argument '" + std::string(current_) + "'");
  throw usage_error("unknown option '" + std::string(name_) + "'");
}

void arg_reader::no_value() const {
  if (has_inline_value_) throw usage_error(std::string(name_) + ": takes no value");
}

std::string format_help_rows(std::span<const help_row> rows, std::size_t indent) {
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.name.size());
  std::string out;
  for (const auto& r : rows) {
    out.append(indent, ' ');
    out += r.name;
    out.append(width - r.name.size() + 2, ' ');
    out += r.text;
    out += '\n';
  }
  return out;
}

}  // namespace iobench::cli
