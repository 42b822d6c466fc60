// Internal: what the model files share. Each src/<name>.cpp defines detail::make_<name>, whose
// declaration impls/CMakeLists.txt generates from the model's iobench_model() line.
#pragma once

#include <span>
#include <vector>

#include "impls/fetcher.hpp"
#include "impls/model_factories.hpp"

namespace iobench::detail {

/// Does Options::work and Options::block after a complete response (impls/response_work.hpp);
/// nothing for a failed or unfinished request.
void do_response_work(const Options& options, const Outcome& outcome);

/// Tells the caller that a request finished with `outcome` (Options::completed and
/// Options::observer, each if the caller asked), then does the response's work, if any, on this
/// thread. Every model calls it once per request, as soon as the request's Outcome is final, on
/// the thread that received the response.
inline void report_finished(const Options& options, const Outcome& outcome) {
  if (options.completed != nullptr) options.completed->fetch_add(1, std::memory_order_relaxed);
  if (options.observer != nullptr) options.observer->finished(outcome);
  if (options.work.count() > 0 || options.block.count() > 0) do_response_work(options, outcome);
}

/// Tells the caller's observer, if any, that an open-loop request meant for `intended` was sent
/// at `at`. Every model calls it once per request it sends in fetch_schedule.
inline void report_sent(const Options& options, Clock::time_point intended, Clock::time_point at) {
  if (options.observer != nullptr) options.observer->sent(intended, at);
}

/// The outcomes of an open-loop run before it starts: every request intended at its time, none
/// sent or finished yet. Models mark each as they send and finish it; what the run never reached
/// stays as it is, counted as incomplete.
inline std::vector<Outcome> unsent_outcomes(std::span<const Clock::time_point> send_at) {
  std::vector<Outcome> outcomes(send_at.size());
  for (std::size_t i = 0; i < send_at.size(); ++i) {
    outcomes[i].intended = send_at[i];
    outcomes[i].sent = false;
    outcomes[i].finished = false;
  }
  return outcomes;
}

}  // namespace iobench::detail
