// thread_pool: `concurrency` blocking workers, each with its own easy handle and connection.
//
// Why it behaves as it does: each worker is the sequential model on its own thread, so C workers
// overlap C waits and a batch takes about ceil(N / C) x L. The price is per thread, not per
// request: a stack (8 MiB reserved, touched pages resident), a kernel task the scheduler wakes
// for every response, and contention on the shared queue. Threads and handles are created once
// per fetcher and reused for every batch, so a batch measures I/O, not thread creation.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "curl_easy.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

class thread_pool_fetcher final : public Fetcher {
 public:
  explicit thread_pool_fetcher(const Options& options) : options_(options) {
    ensure_curl_global();
    workers_.reserve(options.concurrency);
    try {
      for (std::size_t i = 0; i < options.concurrency; ++i) {
        workers_.emplace_back(
            [this, easy = std::make_shared<curl_easy>(options_)] { work(*easy); });
      }
    } catch (...) {
      shut_down();
      throw;
    }
  }

  ~thread_pool_fetcher() override { shut_down(); }
  thread_pool_fetcher(const thread_pool_fetcher&) = delete;
  thread_pool_fetcher& operator=(const thread_pool_fetcher&) = delete;

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    std::unique_lock lock(mutex_);
    requests_ = requests;
    outcomes_ = &outcomes;
    next_ = 0;
    busy_ = workers_.size();
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [this] { return busy_ == 0; });
    outcomes_ = nullptr;
    return outcomes;
  }

 private:
  void work(curl_easy& easy) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      // The queue is an index into the batch; claiming one is a single atomic increment.
      easy.begin_batch();
      for (;;) {
        const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
        if (i >= requests_.size()) break;
        (*outcomes_)[i] = easy.perform(requests_[i]);
        report_finished(options_, (*outcomes_)[i]);
      }
      easy.end_batch();  // connections close with the batch
      std::lock_guard lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  void shut_down() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
  }

  Options options_;
  std::mutex mutex_;
  std::condition_variable wake_;  // workers: a new batch, or stop
  std::condition_variable done_;  // fetch_all: every worker has finished the batch
  std::uint64_t generation_ = 0;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::span<const Request> requests_;
  std::vector<Outcome>* outcomes_ = nullptr;
  std::atomic<std::size_t> next_{0};
  std::vector<std::thread> workers_;  // last: threads start after everything they touch exists
};

}  // namespace

std::unique_ptr<Fetcher> make_thread_pool(const Options& options) {
  return std::make_unique<thread_pool_fetcher>(options);
}

}  // namespace iobench::detail
