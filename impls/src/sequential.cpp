// sequential: one blocking request after another on the caller's thread.
//
// Why it behaves as it does: while a request waits on the network the thread waits with it, so a
// batch takes the sum of its latencies (N x L). It is also the cheapest model: one easy handle,
// one keep-alive connection, no extra thread, almost no CPU per request beyond the syscalls. It is
// the baseline every other model's speedup is measured against.
//
// Open loop: it sleeps to each request's send time and sends it; a request whose time came while
// the previous one was still running goes as soon as that one ends. So at a rate above 1 / L its
// send lag grows through the run: the queue is the schedule itself.
#include <algorithm>
#include <thread>

#include "curl_easy.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

class sequential_fetcher final : public Fetcher {
 public:
  explicit sequential_fetcher(const Options& options) : options_(options), easy_(options) {}

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes;
    outcomes.reserve(requests.size());
    easy_.begin_batch();
    for (const auto& r : requests) {
      outcomes.push_back(easy_.perform(r));
      report_finished(options_, outcomes.back());
    }
    easy_.end_batch();
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    result.outcomes = unsent_outcomes(send_at);
    easy_.begin_batch();
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
      out = easy_.perform(requests[i], limits.deadline);
      out.intended = send_at[i];
      out.sent = true;
      report_finished(options_, out);
    }
    easy_.end_batch();
    return result;
  }

 private:
  Options options_;
  curl_easy easy_;
};

}  // namespace

std::unique_ptr<Fetcher> make_sequential(const Options& options) {
  return std::make_unique<sequential_fetcher>(options);
}

}  // namespace iobench::detail
