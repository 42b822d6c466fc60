// Internal: what the model files share. Each src/<name>.cpp defines detail::make_<name>, whose
// declaration impls/CMakeLists.txt generates from the model's iobench_model() line.
#pragma once

#include "impls/fetcher.hpp"
#include "impls/model_factories.hpp"

namespace iobench::detail {

/// Counts a finished request for Options::completed, if the caller asked.
inline void count_completed(const Options& options) {
  if (options.completed != nullptr) options.completed->fetch_add(1, std::memory_order_relaxed);
}

}  // namespace iobench::detail
