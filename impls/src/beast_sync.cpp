// beast_sync: Beast on a blocking socket, one request after another on the caller's thread.
//
// Why it behaves as it does: it is sequential with Beast's parser in place of libcurl, and
// everything else equal: one keep-alive connection, the same driver (one_at_a_time.hpp), the
// thread waiting on its one socket while a request is out. So a batch takes the sum of its
// latencies (N x L), and what separates it from sequential is the library: libcurl's transfer
// machinery (a multi handle per transfer, its callbacks, its connection cache) against a
// connection and a parser used directly (beast_blocking.hpp). It pairs with coroutine too:
// the same Beast code, waiting one at a time instead of in an event loop.
#include "beast_blocking.hpp"
#include "one_at_a_time.hpp"

namespace iobench::detail {

std::unique_ptr<Fetcher> make_beast_sync(const Options& options) {
  return std::make_unique<one_at_a_time_fetcher<beast_blocking>>(options);
}

}  // namespace iobench::detail
