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
#include "curl_easy.hpp"
#include "one_at_a_time.hpp"

namespace iobench::detail {

std::unique_ptr<Fetcher> make_sequential(const Options& options) {
  return std::make_unique<one_at_a_time_fetcher<curl_easy>>(options);
}

}  // namespace iobench::detail
