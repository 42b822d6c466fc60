// Internal: the driver of the one-at-a-time models (sequential, beast_sync): one blocking
// client (curl_easy.hpp, beast_blocking.hpp) and the caller's thread. The model files say why
// such a model behaves as it does; this is what they share, so that they differ in the client.
//
// A Client is constructed from the Options, and has begin_batch() and end_batch() (a batch's
// connections close with it) and perform(request, deadline): one blocking request, stamped, ended
// by the deadline at the latest and marked unfinished when the deadline cut it off.
#pragma once

#include <algorithm>
#include <thread>

#include "models.hpp"

namespace iobench::detail {

/// A Fetcher that runs one request at a time on the caller's thread with one Client.
template <class Client>
class one_at_a_time_fetcher final : public Fetcher {
 public:
  explicit one_at_a_time_fetcher(const Options& options) : options_(options), client_(options) {}

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes;
    outcomes.reserve(requests.size());
    client_.begin_batch();
    for (const auto& r : requests) {
      outcomes.push_back(client_.perform(r));
      report_finished(options_, outcomes.back());
    }
    client_.end_batch();
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    result.outcomes = unsent_outcomes(send_at);
    client_.begin_batch();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (send_at[i] >= limits.deadline) break;
      std::this_thread::sleep_until(send_at[i]);  // absolute: a late one goes at once
      const auto now = Clock::now();
      if (now >= limits.deadline) break;
      if (now - send_at[i] > limits.max_lag) {
        result.stopped_early = true;
        break;
      }
      // Due and waiting behind this one: the queue this model keeps without keeping one.
      const auto due = std::upper_bound(send_at.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                        send_at.end(), now);
      result.peak_queue =
          std::max(result.peak_queue, static_cast<std::size_t>(due - send_at.begin()) - (i + 1));
      Outcome& out = result.outcomes[i];
      report_sent(options_, send_at[i], now);
      out = client_.perform(requests[i], limits.deadline);
      out.intended = send_at[i];
      out.sent = true;
      report_finished(options_, out);
    }
    client_.end_batch();
    return result;
  }

 private:
  Options options_;
  Client client_;
};

}  // namespace iobench::detail
