// beast_pool: C threads, each blocking on its own Beast connection.
//
// Why it behaves as it does: it is thread_pool with Beast in place of libcurl (the same driver,
// worker_pool.hpp: the futex wake-up, the small stacks, the descriptor gate), so against
// thread_pool it measures the library with the mechanism equal; and it is coroutine on threads
// (the same Beast reading code, beast_response.hpp), so against coroutine it measures the
// mechanism with the library equal: a kernel task woken per response and a stack per request in
// flight, against one thread and a coroutine frame. A worker holds one descriptor (its socket),
// where a libcurl worker holds three, so it reaches a larger C before descriptors run out.
#include "beast_blocking.hpp"
#include "worker_pool.hpp"

namespace iobench::detail {

std::unique_ptr<Fetcher> make_beast_pool(const Options& options) {
  return std::make_unique<worker_pool_fetcher<beast_blocking>>(options);
}

}  // namespace iobench::detail
