// Internal: the driver of the thread-per-request models (thread_pool, beast_pool): C worker
// threads, each blocking on a client of its own (curl_easy.hpp, beast_blocking.hpp), with a
// Client as one_at_a_time.hpp describes it plus wait_for_descriptors(). thread_pool.cpp's note
// says why it behaves as it does and what thousands of workers cost; this is what the two share,
// so that they differ in the client.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>

#include "descriptor_gate.hpp"
#include "models.hpp"

namespace iobench::detail {

/// A worker's stack: plenty for a blocking transfer (plain HTTP, numeric or cached host names;
/// libcurl's threaded resolver runs on threads of its own), sanitizers included.
inline constexpr std::size_t kWorkerStackSize = 256 * 1024;

/// A Fetcher with `concurrency` worker threads, each blocking on a Client of its own.
template <class Client>
class worker_pool_fetcher final : public Fetcher {
 public:
  explicit worker_pool_fetcher(const Options& options) : options_(options) {
    slots_.reserve(options.concurrency);  // never reallocated: the threads hold pointers in it
    for (std::size_t i = 0; i < options.concurrency; ++i) {
      slots_.push_back(slot{this, std::make_unique<Client>(options_)});
      slots_.back().client->wait_for_descriptors(&descriptors_);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kWorkerStackSize);
    threads_.reserve(options.concurrency);
    int rc = 0;
    for (std::size_t i = 0; i < options.concurrency && rc == 0; ++i) {
      pthread_t t{};
      rc = pthread_create(&t, &attr, &worker_pool_fetcher::thread_main, &slots_[i]);
      if (rc == 0) threads_.push_back(t);
    }
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      shut_down();
      throw std::system_error(rc, std::generic_category(), "pthread_create");
    }
  }

  ~worker_pool_fetcher() override { shut_down(); }
  worker_pool_fetcher(const worker_pool_fetcher&) = delete;
  worker_pool_fetcher& operator=(const worker_pool_fetcher&) = delete;

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
  void run_schedule(Client& client) {
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
        client.begin_batch();
        started = true;
      }
      report_sent(options_, send_at_[i], Clock::now());
      Outcome out = client.perform(requests_[i], limits_.deadline);
      out.intended = send_at_[i];
      out.sent = true;
      (*outcomes_)[i] = std::move(out);
      report_finished(options_, (*outcomes_)[i]);
    }
    if (!started) return;
    client.end_batch();
    descriptors_.freed();
  }

  // What a worker thread is started with.
  struct slot {
    worker_pool_fetcher* pool;
    std::unique_ptr<Client> client;
  };

  static void* thread_main(void* arg) {
    auto* s = static_cast<slot*>(arg);
    s->pool->work(*s->client);
    return nullptr;
  }

  void work(Client& client) {
    std::uint32_t seen = 0;
    for (;;) {
      generation_.wait(seen, std::memory_order_acquire);
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_.load(std::memory_order_acquire)) return;
      if (open_ != nullptr) {
        run_schedule(client);
      } else {
        run_batch(client);
      }
      if (busy_.fetch_sub(1, std::memory_order_release) == 1) busy_.notify_one();
    }
  }

  void run_batch(Client& client) {
    bool started = false;
    // The queue is an index into the batch; claiming one is a single atomic increment.
    for (;;) {
      const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= requests_.size()) break;
      if (!started) {
        client.begin_batch();
        started = true;
      }
      (*outcomes_)[i] = client.perform(requests_[i]);
      report_finished(options_, (*outcomes_)[i]);
    }
    if (!started) return;
    client.end_batch();  // connections close with the batch
    descriptors_.freed();
  }

  void shut_down() {
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (pthread_t t : threads_) pthread_join(t, nullptr);
    threads_.clear();
    // Only now, with one thread left: a libcurl easy handle's clean-up calls sigaction
    // (thread_pool.cpp's note).
    slots_.clear();
  }

  Options options_;
  descriptor_gate descriptors_;  // where workers wait when the process is out of descriptors
  std::vector<slot> slots_;      // one per worker: its client
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

}  // namespace iobench::detail
