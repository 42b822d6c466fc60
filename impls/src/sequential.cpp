// sequential: one blocking request after another on the caller's thread.
//
// Why it behaves as it does: while a request waits on the network the thread waits with it, so a
// batch takes the sum of its latencies (N x L). It is also the cheapest model: one easy handle,
// one keep-alive connection, no extra thread, almost no CPU per request beyond the syscalls. It is
// the baseline every other model's speedup is measured against.
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

 private:
  Options options_;
  curl_easy easy_;
};

}  // namespace

std::unique_ptr<Fetcher> make_sequential(const Options& options) {
  return std::make_unique<sequential_fetcher>(options);
}

}  // namespace iobench::detail
