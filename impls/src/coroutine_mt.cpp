// coroutine_mt: the coroutine model on K event loops, one thread each (K = Options::loops, by
// default one per CPU this process may run on, i.e. the client CPUs when iobench pins).
//
// Why it behaves as it does: each loop is a whole coroutine model (its own io_context, worker
// coroutines and connections) and the batch is dealt out in proportion to each loop's share of
// the concurrency C, so nothing is shared between threads while requests run: no locks, no
// cross-thread wake-ups, every connection stays on the thread that opened it (as nginx's workers
// and Seastar's shards do). That is when it beats one loop: when the work is CPU-bound (zero or
// small delays, many requests per second, large bodies), one loop saturates its core while K loops
// use K. When it does not: when requests mostly wait (a 100 ms delay leaves one loop idle most of
// the time), it only adds K threads to start and wake; with C < K some loops get nothing; and
// since the shards are fixed up front, a loop whose requests happen to be slower finishes last
// while the others sit idle (one loop drains a single queue instead). On one CPU it is the
// coroutine model plus a thread. Open loop: the schedule is dealt out the same way, and each
// loop sends its share on time; a loop's queue is its own, so a request waits for a slot of its
// loop even when another loop has one free (peak_queue adds the loops' peaks: an upper bound).

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/machine.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

class coroutine_mt_fetcher final : public Fetcher {
 public:
  explicit coroutine_mt_fetcher(const Options& options) : options_(options) {
    const std::size_t k = options.loops > 0 ? options.loops : usable_cpus();
    // C < K: a loop without a share of the concurrency would only be a thread to wake.
    const std::size_t used = std::min(k, options.concurrency);
    for (std::size_t i = 0; i < used; ++i) {
      Options o = options;
      o.concurrency = options.concurrency / used + (i < options.concurrency % used ? 1 : 0);
      loops_.push_back(std::make_unique<loop>(make_coroutine(o), o.concurrency));
    }
    // Loop 0 runs on the caller's thread, as the coroutine model's one loop does.
    try {
      for (std::size_t i = 1; i < loops_.size(); ++i) {
        threads_.emplace_back([this, i] { serve(*loops_[i]); });
      }
    } catch (...) {
      shut_down();
      throw;
    }
  }

  ~coroutine_mt_fetcher() override { shut_down(); }
  coroutine_mt_fetcher(const coroutine_mt_fetcher&) = delete;
  coroutine_mt_fetcher& operator=(const coroutine_mt_fetcher&) = delete;

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    deal(requests, {});
    open_loop_ = false;
    run_everywhere();
    std::vector<Outcome> outcomes(requests.size());
    for (auto& l : loops_) {
      for (std::size_t j = 0; j < l->index.size(); ++j) {
        outcomes[l->index[j]] = std::move(l->result.outcomes[j]);
      }
    }
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    deal(requests, send_at);
    open_loop_ = true;
    limits_ = limits;
    run_everywhere();
    schedule_result result;
    result.outcomes.resize(requests.size());
    for (auto& l : loops_) {
      for (std::size_t j = 0; j < l->index.size(); ++j) {
        result.outcomes[l->index[j]] = std::move(l->result.outcomes[j]);
      }
      result.peak_queue += l->result.peak_queue;
      result.stopped_early = result.stopped_early || l->result.stopped_early;
    }
    return result;
  }

 private:
  struct loop {
    loop(std::unique_ptr<Fetcher> f, std::size_t c) : fetcher(std::move(f)), concurrency(c) {}
    std::unique_ptr<Fetcher> fetcher;
    std::size_t concurrency;
    std::vector<Request> shard;              // this loop's requests, in batch order
    std::vector<Clock::time_point> send_at;  // open loop: their send times
    std::vector<std::size_t> index;          // where each goes back in the batch
    schedule_result result;
    std::exception_ptr failure;
  };

  // Request i goes to the loop that owns slot i mod C, each loop owning as many slots as its
  // share of the concurrency: every loop gets work in proportion to what it can overlap.
  void deal(std::span<const Request> requests, std::span<const Clock::time_point> send_at) {
    std::vector<std::size_t> owner;
    for (std::size_t l = 0; l < loops_.size(); ++l) {
      owner.insert(owner.end(), loops_[l]->concurrency, l);
    }
    for (auto& l : loops_) {
      l->shard.clear();
      l->send_at.clear();
      l->index.clear();
    }
    for (std::size_t i = 0; i < requests.size(); ++i) {
      loop& l = *loops_[owner[i % owner.size()]];
      l.shard.push_back(requests[i]);
      if (!send_at.empty()) l.send_at.push_back(send_at[i]);
      l.index.push_back(i);
    }
  }

  // Runs every loop's share, loop 0 on this thread, and waits for all; rethrows a loop's failure.
  void run_everywhere() {
    {
      std::lock_guard lock(mutex_);
      busy_ = loops_.size() - 1;
      ++generation_;
    }
    wake_.notify_all();
    run(*loops_.front());
    {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [this] { return busy_ == 0; });
    }
    for (auto& l : loops_) {
      if (l->failure) std::rethrow_exception(l->failure);
    }
  }

  void run(loop& l) {
    l.failure = nullptr;
    try {
      if (!open_loop_) {
        l.result.outcomes = l.fetcher->fetch_all(l.shard);
      } else {
        l.result = l.fetcher->fetch_schedule(l.shard, l.send_at, limits_);
      }
    } catch (...) {
      l.failure = std::current_exception();
    }
  }

  void serve(loop& l) {
    std::uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
      }
      run(l);
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
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Options options_;
  bool open_loop_ = false;  // what the loops run next: fetch_schedule, or fetch_all
  schedule_limits limits_;  // the open-loop run's; set before the loops start it
  std::vector<std::unique_ptr<loop>> loops_;
  std::mutex mutex_;
  std::condition_variable wake_;  // loop threads: a new batch, or stop
  std::condition_variable done_;  // fetch_all: every loop thread has finished the batch
  std::uint64_t generation_ = 0;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: threads start after everything they touch exists
};

}  // namespace

std::unique_ptr<Fetcher> make_coroutine_mt(const Options& options) {
  if (options.concurrency == 0) throw std::invalid_argument("concurrency must be at least 1");
  return std::make_unique<coroutine_mt_fetcher>(options);
}

}  // namespace iobench::detail
