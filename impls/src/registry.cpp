// The registry's C++ side. The table itself is generated from the iobench_model() lines in
// impls/CMakeLists.txt, so that adding a model is one new file (src/<name>.cpp) plus one line
// there: that line compiles the file, declares its factory and adds its row here. Nothing else
// names a model; tests, suites, help texts and reports ask models() and find_model().
#include <algorithm>
#include <stdexcept>
#include <string>

#include "impls/model_table.hpp"
#include "impls/response_work.hpp"

namespace iobench {
namespace {

constexpr auto kInfos = [] {
  std::array<model_info, detail::kModelTable.size()> infos{};
  for (std::size_t i = 0; i < infos.size(); ++i) infos[i] = detail::kModelTable[i].info;
  return infos;
}();

constexpr auto kNames = [] {
  std::array<std::string_view, kInfos.size()> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kInfos[i].name;
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

std::span<const model_info> models() { return kInfos; }

const model_info* find_model(std::string_view name) {
  const auto it = std::find_if(kInfos.begin(), kInfos.end(),
                               [name](const model_info& m) { return m.name == name; });
  return it == kInfos.end() ? nullptr : &*it;
}

std::span<const std::string_view> fetcher_names() { return kNames; }

std::string model_unavailable(std::string_view name) {
  for (const auto& m : detail::kModelTable) {
    if (m.info.name == name) return m.probe == nullptr ? std::string() : m.probe();
  }
  return {};
}

std::unique_ptr<Fetcher> make_fetcher(std::string_view name, const Options& options) {
  if (options.concurrency == 0) throw std::invalid_argument("concurrency must be at least 1");
  if (options.work.count() < 0 || options.block.count() < 0) {
    throw std::invalid_argument("work and block must not be negative");
  }
  // The work's calibration runs now, not inside the first measured response.
  if (options.work.count() > 0) work_pass_time();
  for (const auto& m : detail::kModelTable) {
    if (m.info.name != name) continue;
    if (m.probe != nullptr) {
      if (std::string why = m.probe(); !why.empty()) {
        throw std::runtime_error(std::string(name) + " cannot run here: " + why);
      }
    }
    return m.make(options);
  }
  std::string known;
  for (auto n : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
  throw std::invalid_argument("unknown fetcher '" + std::string(name) + "'; known: " + known);
}

}  // namespace iobench
