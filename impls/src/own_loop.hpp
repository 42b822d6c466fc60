// Internal: an own event loop less its kernel interface, the base of the epoll and uring models.
// It keeps the connections (slots, each a loop_connection and the request it carries), which of
// them are free, their step deadlines and the batch (loop_batch), and drives a connection from
// one I/O to the next: when a request is done its connection takes the next one at once (so a
// keep-alive connection goes straight on to its next request), and a connection left without
// one waits among the free until a request falls due. A model supplies three things: act() (do
// or queue the I/O a connection wants), wait() (block until I/O happened or `wake`, and hand
// what happened to the connections) and on_expired() (a connection's step deadline passed).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <vector>

#include "loop_connection.hpp"

namespace iobench::detail {

/// Connections' step deadlines, earliest first. An entry is stale once its connection pushed a
/// newer one or went idle; stale entries are dropped as they surface.
class deadline_heap {
 public:
  struct entry {
    Clock::time_point at;
    std::size_t slot;
    std::uint64_t generation;
    bool operator>(const entry& o) const { return at > o.at; }
  };
  void push(entry e) { heap_.push(e); }
  /// The earliest entry `live` accepts, dropping the stale ones above it; nullopt when none.
  template <class IsLive>
  std::optional<entry> top(IsLive&& live) {
    while (!heap_.empty() && !live(heap_.top())) heap_.pop();
    if (heap_.empty()) return std::nullopt;
    return heap_.top();
  }
  void pop() { heap_.pop(); }
  void clear() { heap_ = {}; }

 private:
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
};

/// What every own loop keeps per connection; a model's Slot derives from it.
struct loop_slot {
  explicit loop_slot(const Options& o) : conn(o) {}
  loop_connection conn;
  std::size_t request = 0;
  bool busy = false;
  loop_connection::next want = loop_connection::next::done;  ///< the I/O it waits for
  Clock::time_point armed;                                   ///< its deadline in the heap
  std::uint64_t generation = 0;                              ///< its live heap entry
};

/// A Fetcher over an own event loop; Slot derives from loop_slot.
template <class Slot>
class own_loop : public Fetcher {
 public:
  using next = loop_connection::next;

  explicit own_loop(const Options& options) : options_(options) {}

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    loop_batch b(options_, requests, outcomes);
    run(b);
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    loop_batch b(options_, requests, send_at, limits, result);
    run(b);
    return result;
  }

 protected:
  /// Does, or queues, the I/O `n` (connect, write or read) of slot s. The next step when it is
  /// done at once; nullopt when the connection now waits for the kernel.
  virtual std::optional<next> act(std::size_t s, next n) = 0;
  /// Blocks until I/O happened or `wake` (max(): no limit) and hands what happened to drive().
  virtual void wait(Clock::time_point wake) = 0;
  /// Slot s's step deadline passed while it waited.
  virtual void on_expired(std::size_t s) = 0;
  /// Before and after a batch's loop (uring sets its ring up and tears it down).
  virtual void open_batch() {}
  virtual void close_batch() {}

  /// Does what slot s wants, from `n` on, until it waits or has no request left.
  void drive(std::size_t s, next n) {
    Slot& sl = *slots_[s];
    for (;;) {
      if (n == next::done) {
        batch_->finish(sl.request);
        const auto i = batch_->take();
        if (!i) {
          sl.busy = false;
          sl.want = next::done;
          --busy_;
          idle_.push_back(s);
          return;
        }
        sl.request = *i;
        n = sl.conn.begin(batch_->url(*i), batch_->outcome(*i), batch_->deadline(*i));
        continue;
      }
      const auto step = act(s, n);
      if (!step) {
        sl.want = n;
        if (sl.conn.step_deadline() != sl.armed) {
          sl.armed = sl.conn.step_deadline();
          heap_.push({sl.armed, s, ++sl.generation});
        }
        return;
      }
      n = *step;
    }
  }

  Slot& slot(std::size_t s) { return *slots_[s]; }
  const Options& options() const { return options_; }

 private:
  void run(loop_batch& b) {
    batch_ = &b;
    idle_.clear();
    heap_.clear();
    busy_ = 0;
    for (std::size_t s = 0; s < b.connections(); ++s) {
      slots_.push_back(std::make_unique<Slot>(options_));
      idle_.push_back(b.connections() - 1 - s);  // slot 0 first
    }
    struct cleanup {
      own_loop* self;
      ~cleanup() {
        self->slots_.clear();  // connections close with the batch; no I/O is pending on them
        self->close_batch();
        self->batch_ = nullptr;
      }
    } done{this};
    if (b.connections() == 0) return;
    open_batch();
    fill();
    while (busy_ > 0 || !b.exhausted()) {
      wait(wake());
      expire();
      fill();
    }
  }

  // Gives each free connection a request while one is due.
  void fill() {
    while (!idle_.empty()) {
      const auto i = batch_->take();
      if (!i) break;
      const std::size_t s = idle_.back();
      idle_.pop_back();
      Slot& sl = *slots_[s];
      sl.busy = true;
      ++busy_;
      sl.request = *i;
      drive(s, sl.conn.begin(batch_->url(*i), batch_->outcome(*i), batch_->deadline(*i)));
    }
    batch_->note_waiting();
  }

  // The earliest step deadline, or the next send time when a connection is free for it.
  Clock::time_point wake() {
    auto at = idle_.empty() ? Clock::time_point::max() : batch_->next_due();
    if (const auto e = heap_.top([this](const auto& x) { return live(x); }); e && e->at < at) {
      at = e->at;
    }
    return at;
  }

  void expire() {
    const auto now = Clock::now();
    while (const auto e = heap_.top([this](const auto& x) { return live(x); })) {
      if (e->at > now) break;
      heap_.pop();
      slots_[e->slot]->armed = {};
      on_expired(e->slot);
    }
  }

  // A heap entry counts while its connection waits on the step it was pushed for.
  [[nodiscard]] bool live(const deadline_heap::entry& e) const {
    const Slot& sl = *slots_[e.slot];
    return sl.busy && sl.generation == e.generation;
  }

  Options options_;
  loop_batch* batch_ = nullptr;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::size_t> idle_;
  deadline_heap heap_;
  std::size_t busy_ = 0;
};

}  // namespace iobench::detail
