// Internal: one factory per model file, and what the models share.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "impls/fetcher.hpp"

namespace iobench::detail {

std::unique_ptr<Fetcher> make_sequential(const Options& options);
std::unique_ptr<Fetcher> make_thread_pool(const Options& options);
std::unique_ptr<Fetcher> make_coroutine(const Options& options);
std::unique_ptr<Fetcher> make_curl_multi(const Options& options);

/// Counts a finished request for Options::completed, if the caller asked.
inline void count_completed(const Options& options) {
  if (options.completed != nullptr) options.completed->fetch_add(1, std::memory_order_relaxed);
}

}  // namespace iobench::detail
