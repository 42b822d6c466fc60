// thread_pool: `concurrency` blocking workers, each with its own easy handle and connection.
//
// Why it behaves as it does: each worker is the sequential model on its own thread, so C workers
// overlap C waits and a batch takes about ceil(N / C) x L. The price is per thread, not per
// request: a kernel task the scheduler wakes for every response, a stack (kWorkerStackSize
// reserved, touched pages resident), and descriptors. Threads and handles are created once per
// fetcher and reused for every batch, so a batch measures I/O, not thread creation.
//
// What it costs at thousands of workers (2-core VM, N = C, 100 ms; measured):
// - Waking the workers: every worker waits on one futex word that fetch_all bumps, so a batch
//   starts with one wake-all (10,000 threads: about 135 ms here) instead of a condition variable
//   whose mutex every woken worker takes in turn (230-360 ms), during which the early workers
//   took the later workers' requests.
// - Descriptors: a worker's blocking transfers run on a multi handle of its own (curl_easy.cpp,
//   as curl_easy_perform does it), and libcurl 7.88.1's multi handle holds a socketpair (for
//   curl_multi_wakeup, which a blocking transfer never uses) for its life. So a worker holds 3
//   descriptors while it fetches, 2 while idle: C = 8,000 needs 24,000, over a 20,000 limit.
//   Without care, socket() fails with EMFILE and libcurl reports "Couldn't connect to server" after
//   0 ms: the connect errors seen at 10,000. Here a worker whose socket() finds no descriptor waits
//   (in libcurl's open-socket callback) for another worker to close a connection, up to the connect
//   timeout, then tries again; nothing was sent yet, and the request's latency counts the wait. So
//   a pool larger than the descriptors allow completes, with fewer requests in flight than C (the
//   server's max_in_flight shows how many): at 20,000 descriptors, about 6,600.
// - Signals: libcurl ignores SIGPIPE around some clean-ups with sigaction(), and setting SIG_IGN
//   makes the kernel walk every thread of the process under a lock; 10,000 workers doing it at
//   once took seconds. Those clean-ups are a worker's multi handle (its connection cache), so a
//   worker creates one only at its first request of a batch and a worker that got none cleans
//   up nothing; easy handles, set to NOSIGNAL, clean up without it.
// - Stacks: kWorkerStackSize (worker_pool.hpp) instead of glibc's 8 MiB: thread creation costs the
// same (about 25 us a
//   thread here), but 10,000 threads reserve 2.5 GiB instead of 80, and exit faster.
// Before and after (iobench-fetch -n N -c N, 100 ms, mock_server --threads 2; medians of 3
// alternating runs on the busy 2-core VM; CPU is the process's, per request):
//   N = C    before: makespan, CPU, errors      after: makespan, CPU, errors
//   4,000    1.19 s, 510 us, 0                  0.98 s, 315 us, 0
//   8,000    2.63 s, 896 us, 90 in one run      2.14 s, 325 us, 0
//   10,000   4.74 s, 916 us, 0 (16-28% before   2.46 s, 369 us, 0
//            on 16 cores, 39% here once)
// Open loop: the caller's thread is a dispatcher that sleeps to each send time and appends the
// request to a FIFO (it never blocks on a worker); idle workers take from its head. When all C
// are busy the FIFO grows, and the lag shows in the corrected latency.
//
// What is left is the model's: the kernel switching between thousands of threads (finish_task_
// switch, wake-ups: a quarter of the samples), and at 10,000 a server that cannot accept that
// many connects from that many runnable threads on 2 cores (thousands of listen-queue overflows,
// SYNs retried after 1 s, timers 300-700 ms late at p99), which the makespan shows.
#include "curl_easy.hpp"
#include "worker_pool.hpp"

namespace iobench::detail {

std::unique_ptr<Fetcher> make_thread_pool(const Options& options) {
  return std::make_unique<worker_pool_fetcher<curl_easy>>(options);
}

}  // namespace iobench::detail
