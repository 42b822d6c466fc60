// Internal: what the model files share. Each src/<name>.cpp defines detail::make_<name>, whose
// declaration impls/CMakeLists.txt generates from the model's iobench_model() line.
#pragma once

#include "impls/fetcher.hpp"
#include "impls/model_factories.hpp"

namespace iobench::detail {

/// Tells the caller that a request finished with `outcome` (Options::completed and
/// Options::observer, each if the caller asked). Every model calls it once per request, as soon
/// as the request's Outcome is final.
inline void report_finished(const Options& options, const Outcome& outcome) {
  if (options.completed != nullptr) options.completed->fetch_add(1, std::memory_order_relaxed);
  if (options.observer != nullptr) options.observer->finished(outcome);
}

}  // namespace iobench::detail
