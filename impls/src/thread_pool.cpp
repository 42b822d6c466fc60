// thread_pool: `concurrency` blocking workers, each with its own easy handle and connection.
//
// Why it behaves as it does: each worker is the sequential model on its own thread, so C workers
// overlap C waits and a batch takes about ceil(N / C) x L. The price is per thread, not per
// request: a kernel task the scheduler wakes for every response, a stack (kStackSize reserved,
// touched pages resident), and descriptors. Threads and handles are created once per fetcher and
// reused for every batch, so a batch measures I/O, not thread creation.
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
// - Stacks: kStackSize instead of glibc's 8 MiB: thread creation costs the same (about 25 us a
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
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>

#include "curl_easy.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

// Plenty for a blocking libcurl transfer (plain HTTP, numeric or cached host names; libcurl's
// threaded resolver runs on threads of its own), sanitizers included.
constexpr std::size_t kStackSize = 256 * 1024;

class thread_pool_fetcher final : public Fetcher {
 public:
  explicit thread_pool_fetcher(const Options& options) : options_(options) {
    ensure_curl_global();
    slots_.reserve(options.concurrency);  // never reallocated: the threads hold pointers in it
    for (std::size_t i = 0; i < options.concurrency; ++i) {
      slots_.push_back(slot{this, std::make_unique<curl_easy>(options_)});
      slots_.back().easy->wait_for_descriptors(&descriptors_);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackSize);
    threads_.reserve(options.concurrency);
    int rc = 0;
    for (std::size_t i = 0; i < options.concurrency && rc == 0; ++i) {
      pthread_t t{};
      rc = pthread_create(&t, &attr, &thread_pool_fetcher::thread_main, &slots_[i]);
      if (rc == 0) threads_.push_back(t);
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      shut_down();
      throw std::system_error(rc, std::generic_category(), "pthread_create");
    }
  }

  ~thread_pool_fetcher() override { shut_down(); }
  thread_pool_fetcher(const thread_pool_fetcher&) = delete;
  thread_pool_fetcher& operator=(const thread_pool_fetcher&) = delete;

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    requests_ = requests;
    outcomes_ = &outcomes;
    next_.store(0, std::memory_order_relaxed);
    busy_.store(threads_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the batch
    generation_.notify_all();
    for (std::size_t b = busy_.load(std::memory_order_acquire); b != 0;
         b = busy_.load(std::memory_order_acquire)) {
      busy_.wait(b, std::memory_order_acquire);
    }
    outcomes_ = nullptr;
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    result.outcomes = unsent_outcomes(send_at);
    requests_ = requests;
    outcomes_ = &result.outcomes;
    send_at_ = send_at;
    limits_ = limits;
    open_ = &result;
    {
      std::lock_guard lock(queue_mutex_);
      queue_.clear();
      idle_ = 0;
      dispatched_ = false;
      stop_ = false;
    }
    busy_.store(threads_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the run
    generation_.notify_all();
    dispatch(result);
    for (std::size_t b = busy_.load(std::memory_order_acquire); b != 0;
         b = busy_.load(std::memory_order_acquire)) {
      busy_.wait(b, std::memory_order_acquire);
    }
    open_ = nullptr;
    outcomes_ = nullptr;
    return result;
  }

 private:
  // Open loop, on the caller's thread: each request goes into the FIFO at its time.
  void dispatch(schedule_result& result) {
    for (std::size_t i = 0; i < send_at_.size(); ++i) {
      {
        std::unique_lock lock(queue_mutex_);
        if (send_at_[i] >= limits_.deadline) break;
        // Absolute: a late wake-up never moves the next time. A stop ends the wait.
        stopped_.wait_until(lock, send_at_[i], [this] { return stop_; });
        if (stop_) break;
        queue_.push_back(i);
        const std::size_t waiting = queue_.size() > idle_ ? queue_.size() - idle_ : 0;
        result.peak_queue = std::max(result.peak_queue, waiting);
      }
      queued_.notify_one();
    }
    {
      std::lock_guard lock(queue_mutex_);
      dispatched_ = true;
    }
    queued_.notify_all();
  }

  // Open loop, on a worker: the FIFO's head, until it is empty and nothing more will come.
  void run_schedule(curl_easy& easy) {
    bool started = false;
    for (;;) {
      std::size_t i = 0;
      {
        std::unique_lock lock(queue_mutex_);
        ++idle_;
        queued_.wait(lock, [this] { return stop_ || dispatched_ || !queue_.empty(); });
        --idle_;
        if (stop_ || queue_.empty()) break;
        i = queue_.front();
        const auto now = Clock::now();
        const bool late = now - send_at_[i] > limits_.max_lag;
        if (late || now >= limits_.deadline) {
          // Nothing more is sent by anyone; what is queued stays unsent.
          stop_ = true;
          if (late) open_->stopped_early = true;
          lock.unlock();
          stopped_.notify_all();
          queued_.notify_all();
          break;
        }
        queue_.pop_front();
      }
      if (!started) {
        easy.begin_batch();
        started = true;
      }
      report_sent(options_, send_at_[i], Clock::now());
      Outcome out = easy.perform(requests_[i], limits_.deadline);
      out.intended = send_at_[i];
      out.sent = true;
      (*outcomes_)[i] = std::move(out);
      report_finished(options_, (*outcomes_)[i]);
    }
    if (!started) return;
    easy.end_batch();
    descriptors_.freed();
  }

  // What a worker thread is started with.
  struct slot {
    thread_pool_fetcher* pool;
    std::unique_ptr<curl_easy> easy;
  };

  static void* thread_main(void* arg) {
    auto* s = static_cast<slot*>(arg);
    s->pool->work(*s->easy);
    return nullptr;
  }

  void work(curl_easy& easy) {
    std::uint32_t seen = 0;
    for (;;) {
      generation_.wait(seen, std::memory_order_acquire);
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_.load(std::memory_order_acquire)) return;
      if (open_ != nullptr) {
        run_schedule(easy);
      } else {
        run_batch(easy);
      }
      if (busy_.fetch_sub(1, std::memory_order_release) == 1) busy_.notify_one();
    }
  }

  void run_batch(curl_easy& easy) {
    bool started = false;
    // The queue is an index into the batch; claiming one is a single atomic increment.
    for (;;) {
      const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= requests_.size()) break;
      if (!started) {
        easy.begin_batch();
        started = true;
      }
      (*outcomes_)[i] = easy.perform(requests_[i]);
      report_finished(options_, (*outcomes_)[i]);
    }
    if (!started) return;
    easy.end_batch();  // connections close with the batch
    descriptors_.freed();
  }

  void shut_down() {
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (pthread_t t : threads_) pthread_join(t, nullptr);
    threads_.clear();
    // Only now, with one thread left: an easy handle's clean-up calls sigaction (see the note).
    slots_.clear();
  }

  Options options_;
  descriptor_gate descriptors_;  // where workers wait when the process is out of descriptors
  std::vector<slot> slots_;      // one per worker: its easy handle
  std::atomic<std::uint32_t> generation_{0};  // bumped for each batch, and to stop
  std::atomic<std::size_t> busy_{0};          // workers still in the current batch
  std::atomic<bool> stopping_{false};
  std::span<const Request> requests_;
  std::vector<Outcome>* outcomes_ = nullptr;
  std::atomic<std::size_t> next_{0};
  // Open loop (fetch_schedule); open_ is set before the workers are woken, null for a batch.
  schedule_result* open_ = nullptr;
  std::span<const Clock::time_point> send_at_;
  schedule_limits limits_;
  std::mutex queue_mutex_;           // guards what follows
  std::condition_variable queued_;   // workers: a request was queued, or the run is over
  std::condition_variable stopped_;  // the dispatcher: stop sending
  std::deque<std::size_t> queue_;    // due requests no worker has taken yet
  std::size_t idle_ = 0;             // workers waiting for the queue
  bool dispatched_ = false;          // the dispatcher has queued everything it will
  bool stop_ = false;                // a send lagged past max_lag, or the deadline passed
  std::vector<pthread_t> threads_;
};

}  // namespace

std::unique_ptr<Fetcher> make_thread_pool(const Options& options) {
  return std::make_unique<thread_pool_fetcher>(options);
}

}  // namespace iobench::detail
