// The registry: names to models. Adding a model here adds it to every test and benchmark.
#include <array>
#include <stdexcept>
#include <string>

#include "models.hpp"

namespace iobench {
namespace {

struct entry {
  std::string_view name;
  std::unique_ptr<Fetcher> (*make)(const Options&);
};

constexpr std::array<entry, 4> kModels{{
    {"sequential", &detail::make_sequential},
    {"thread_pool", &detail::make_thread_pool},
    {"coroutine", &detail::make_coroutine},
    {"curl_multi", &detail::make_curl_multi},
}};

constexpr auto kNames = [] {
  std::array<std::string_view, kModels.size()> names{};
  for (std::size_t i = 0; i < kModels.size(); ++i) names[i] = kModels[i].name;
  return names;
}();

}  // namespace

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none:
      return "none";
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::reset:
      return "reset";
    case ErrorKind::bad_response:
      return "bad_response";
  }
  return "unknown";
}

std::span<const std::string_view> fetcher_names() { return kNames; }

std::unique_ptr<Fetcher> make_fetcher(std::string_view name, const Options& options) {
  if (options.concurrency == 0) throw std::invalid_argument("concurrency must be at least 1");
  for (const auto& m : kModels) {
    if (m.name == name) return m.make(options);
  }
  std::string known;
  for (auto n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
  throw std::invalid_argument("unknown fetcher '" + std::string(name) + "'; known: " + known);
}

}  // namespace iobench
