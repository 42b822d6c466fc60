// curl_multi: libcurl's multi interface driven by curl_multi_socket_action from an Asio event
// loop (epoll and one steady_timer) on the caller's thread.
//
// Why it behaves as it does: like the coroutine model it overlaps C waits on one thread, so a
// batch takes about ceil(N/C) x L; unlike it, the HTTP work is libcurl's, whose per-transfer state
// (an easy handle with its own buffers) is heavier than a coroutine frame. libcurl tells us which
// sockets to watch (socket callback) and when it next needs a tick (timer callback); we tell it
// which socket became ready. A sliding window keeps C transfers active: each one that finishes
// makes room for the next request, on a connection from the multi handle's shared cache.
//
// What libcurl 7.88.1 (Debian 12) costs with C connections to one host:port, from its source and
// from perf (a symbolised build of the 7.88.1 tag; N = C, 100 ms, 2-core VM). The cache keeps one
// list per host:port, oldest connection first, and two walks of it are O(C) per transfer, so a
// batch of N = C is O(C^2):
// - A new transfer looks for an idle connection (url.c ConnectionExists), skipping every busy one
//   ahead of it: 14% of the client's CPU samples at C = 4,000, 27% at 10,000.
// - curl_multi_remove_handle looks for the transfer's last connection (multi.c
//   close_connect_only, through Curl_conncache_foreach) until it finds it: 9% at 4,000, 19% at
//   10,000; and curl_multi_cleanup then closes C connections at the batch's end.
// Neither can be switched off, but the driver knows when both are pointless and says so per
// transfer: until a transfer of the batch has finished, every cached connection is busy, so the
// first wave skips the search (CURLOPT_FRESH_CONNECT); when a pass starts every request that is
// left, nothing can reuse its connections, so they close when their transfers end
// (CURLOPT_FORBID_REUSE) and are never walked. Reuse is unchanged: a connection that a later
// request could take is still offered to it. tools/curl_multi_scaling.c shows the curve with
// plain libcurl (no iobench code); see its note for numbers. Here (iobench-fetch, N = C, median
// of 3 alternating runs, mock_server --threads 2): makespan against coroutine's 1.55x -> 1.15x
// at 4,000 and 2.17x -> 1.13x at 8,000; CPU per request 175 -> 103 us and 211 -> 111 us
// (coroutine 75 and 94). What is left: with N > C, a transfer started mid-batch still pays both
// walks (O(C) each); libcurl's socket hash has 911 buckets (Curl_hash_pick, 3.5% at 8,000); and
// libcurl makes about 21 syscalls per request (coroutine: 14), among them two poll()s (after
// connect, after each read) that 7.88.1 cannot skip, and 3 getsockname + 2 getpeername. Not
// used, as they would not help: CURLMOPT_MAXCONNECTS beyond C (the cache never holds more than
// C, so returning a connection never scans for the oldest), CURLMOPT_MAX_HOST_CONNECTIONS (a full
// bundle is scanned for its oldest connection), several multi handles (a different model).
//
// On libcurl before 8.1.0 each transfer gets a fresh easy handle (curl_easy.cpp: a reused one
// can be made to read freed memory by a folded header line), which costs this model about 18% of
// its zero-delay throughput on this VM (C = 32: ~39k req/s against ~47k with reused handles);
// connections are still reused through the multi handle's cache.
//
// Open loop: a timer wakes the loop at each request's send time, and due requests are added to the
// multi handle while fewer than C transfers run; the rest wait, in order, until a transfer ends.
//
// The bridge: libcurl's sockets live in one epoll set of our own (level-triggered, as libcurl
// expects), which Asio watches as a single descriptor; when it is readable, epoll_wait hands every
// ready socket to curl_multi_socket_action. That is 3 epoll_ctl per connection (add, modify,
// delete) and no per-socket object, where an Asio descriptor per socket cost 4 epoll_ctl, an
// ioctl and a shared watcher. Rules:
// - libcurl owns its sockets; we only add, change and remove them in the set when the socket
//   callback says so (CURL_POLL_REMOVE comes before libcurl closes one).
// - An event for a socket that an earlier event of the same epoll_wait closed is harmless:
//   libcurl ignores an unknown socket, and a reused number just gets a spurious wake-up.
// - Never call into libcurl from inside its callbacks: a 0 ms timeout becomes a handler that runs
//   on the next loop turn.
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <exception>
#include <system_error>

#include "curl_easy.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr int kMaxEvents = 256;  // readiness events taken from the epoll set per epoll_wait

// The libcurl events a socket wants, as epoll events (level-triggered, like libcurl's poll()).
std::uint32_t epoll_events(int what) {
  return ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0U) |
         ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0U);
}

// What epoll reported, as libcurl's CURL_CSELECT_* bits.
int curl_select_bits(std::uint32_t events) {
  return ((events & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
         ((events & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
         ((events & EPOLLERR) != 0 ? CURL_CSELECT_ERR : 0);
}

class curl_multi_fetcher final : public Fetcher {
 public:
  explicit curl_multi_fetcher(const Options& options) : options_(options) {
    ensure_curl_global();
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    poller_.assign(fd);  // owns it from here on
  }

  ~curl_multi_fetcher() override { release_multi(); }
  curl_multi_fetcher(const curl_multi_fetcher&) = delete;
  curl_multi_fetcher& operator=(const curl_multi_fetcher&) = delete;

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    if (requests.empty()) return outcomes;
    run(requests, outcomes);
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    result.outcomes = unsent_outcomes(send_at);
    if (requests.empty()) return result;
    send_at_ = send_at;
    limits_ = limits;
    open_ = &result;
    stop_ = false;
    try {
      run(requests, result.outcomes);
    } catch (...) {
      open_ = nullptr;
      throw;
    }
    open_ = nullptr;
    return result;
  }

 private:
  void run(std::span<const Request> requests, std::vector<Outcome>& outcomes) {
    requests_ = requests;
    outcomes_ = &outcomes;
    next_ = 0;
    done_ = 0;
    failure_ = nullptr;
    // Easy handles are made once and reused by every batch; the multi handle (and with it the
    // connection cache) lives for one batch, so its connections close when the batch ends.
    const std::size_t window = std::min(options_.concurrency, requests.size());
    while (handles_.size() < window) handles_.push_back(std::make_unique<curl_easy>(options_));
    free_.clear();
    for (std::size_t i = 0; i < window; ++i) free_.push_back(i);
    slot_request_.assign(window, 0);
    slot_shortened_.assign(window, false);

    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &curl_multi_fetcher::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &curl_multi_fetcher::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(window));

    ctx_.restart();
    start_more();
    if (over()) {
      finish_batch();  // an open-loop run with nothing to send before its deadline
    } else {
      wait_for_events();
    }
    ctx_.run();
    release_multi();
    outcomes_ = nullptr;
    if (failure_) std::rethrow_exception(failure_);
  }

  static int on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self_ptr,
                       void* /*socketp*/) {
    auto& self = *static_cast<curl_multi_fetcher*>(self_ptr);
    if (s < 0) return -1;
    const auto fd = static_cast<std::size_t>(s);
    if (fd >= self.watched_.size()) self.watched_.resize(fd + 1, 0);
    std::uint32_t& watched = self.watched_[fd];
    const int epfd = self.poller_.native_handle();
    if (what == CURL_POLL_REMOVE) {
      // libcurl says so before it closes the socket, so the number is still ours to remove.
      if (watched != 0) ::epoll_ctl(epfd, EPOLL_CTL_DEL, s, nullptr);
      watched = 0;
      return 0;
    }
    epoll_event ev{};
    ev.events = epoll_events(what);
    ev.data.fd = s;
    if (ev.events == watched) return 0;
    int rc = ::epoll_ctl(epfd, watched != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev);
    // A socket closed without CURL_POLL_REMOVE left the epoll set by itself (ENOENT), and a
    // number we forgot is still in it (EEXIST): the other operation is the right one.
    if (rc != 0 && (errno == ENOENT || errno == EEXIST)) {
      rc = ::epoll_ctl(epfd, errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev);
    }
    if (rc != 0) return -1;  // libcurl fails the transfers on this socket
    watched = ev.events;
    return 0;
  }

  static int on_timer(CURLM* /*multi*/, long timeout_ms, void* self_ptr) {
    // libcurl replaces its one timeout with each call, but a wake-up that comes too early is
    // harmless (it just tells us the time left). So the timer is only moved earlier, never
    // re-armed for a later or cancelled timeout: each re-arm reprograms the kernel's timerfd, a
    // syscall per transfer otherwise.
    auto& self = *static_cast<curl_multi_fetcher*>(self_ptr);
    if (timeout_ms < 0) return 0;
    if (timeout_ms == 0) {
      if (!self.tick_posted_) {
        self.tick_posted_ = true;
        asio::post(self.ctx_, [&self] {
          self.tick_posted_ = false;
          self.on_timeout();
        });
      }
      return 0;
    }
    const auto due = Clock::now() + std::chrono::milliseconds(timeout_ms);
    if (self.timer_armed_ && self.timer_.expiry() <= due) return 0;
    self.timer_armed_ = true;
    self.timer_.expires_at(due);
    self.timer_.async_wait([&self](const error_code& ec) {
      if (ec) return;
      self.timer_armed_ = false;
      self.on_timeout();
    });
    return 0;
  }

  // Asio watches one descriptor, the epoll set that holds libcurl's sockets; when it is
  // readable, every ready socket is handed to libcurl.
  void wait_for_events() {
    poller_.async_wait(asio::posix::descriptor_base::wait_read, [this](const error_code& ec) {
      if (ec || multi_ == nullptr) return;
      on_events();
      if (multi_ != nullptr) wait_for_events();
    });
  }

  void on_events() {
    guarded([this] {
      int n = kMaxEvents;
      while (n == kMaxEvents && multi_ != nullptr) {
        n = ::epoll_wait(poller_.native_handle(), events_.data(), kMaxEvents, 0);
        for (int i = 0; i < n; ++i) {
          // An event for a socket that an earlier one in this list closed is ignored by
          // libcurl; one whose number was reused meanwhile is a spurious wake-up, also harmless.
          int running = 0;
          curl_multi_socket_action(multi_, events_[i].data.fd, curl_select_bits(events_[i].events),
                                   &running);
        }
        after_action();
      }
    });
  }

  void on_timeout() {
    guarded([this] {
      int running = 0;
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      after_action();
    });
  }

  // Runs one turn of the loop; only a bug or out-of-memory throws, which stops the batch and is
  // reported from fetch_all.
  template <class F>
  void guarded(F turn) {
    if (multi_ == nullptr) return;
    try {
      turn();
    } catch (...) {
      if (!failure_) failure_ = std::current_exception();
      finish_batch();
    }
  }

  // After libcurl acted: collect what finished and top the window up.
  void after_action() {
    collect();
    start_more();
    if (over()) finish_batch();
  }

  // Every transfer started has ended, and no more will start.
  [[nodiscard]] bool over() const {
    if (done_ < next_) return false;
    if (open_ == nullptr) return next_ == requests_.size();
    return next_ == requests_.size() || stop_ || send_at_[next_] >= limits_.deadline;
  }

  // Open loop: starts what is due while slots are free, then sleeps to the next send time.
  void start_due() {
    const auto now = Clock::now();
    while (!free_.empty() && next_ < requests_.size() && !stop_) {
      const auto t = send_at_[next_];
      if (t > now) break;
      if (t >= limits_.deadline || now >= limits_.deadline) {
        stop_ = true;  // what is left stays unsent
        break;
      }
      if (now - t > limits_.max_lag) {
        stop_ = true;
        open_->stopped_early = true;
        break;
      }
      handles_[free_.back()]->prepare(requests_[next_].url);
      start(now, limits_.deadline);
    }
    if (stop_ || next_ == requests_.size()) return;
    const auto due = std::upper_bound(send_at_.begin() + static_cast<std::ptrdiff_t>(next_),
                                      send_at_.end(), now);
    open_->peak_queue =
        std::max(open_->peak_queue, static_cast<std::size_t>(due - send_at_.begin()) - next_);
    if (send_at_[next_] > now && send_at_[next_] < limits_.deadline) {
      due_timer_.expires_at(send_at_[next_]);  // absolute: a late wake-up never moves it
      due_timer_.async_wait([this](const error_code& ec) {
        if (ec) return;
        guarded([this] {
          start_due();
          if (over()) finish_batch();
        });
      });
    }
  }

  // Adds request next_ to the multi handle on the last free slot, whose handle the caller has
  // prepared for it.
  void start(Clock::time_point now, Clock::time_point deadline) {
    const std::size_t slot = free_.back();
    free_.pop_back();
    const std::size_t i = next_++;
    curl_easy& easy = *handles_[slot];
    slot_shortened_[slot] = easy.end_by(deadline);
    slot_request_[slot] = i;
    curl_easy_setopt(easy.handle(), CURLOPT_PRIVATE, reinterpret_cast<void*>(slot));
    Outcome& out = (*outcomes_)[i];
    out.start = now;
    out.sent = true;
    if (open_ != nullptr) report_sent(options_, out.intended, now);
    curl_multi_add_handle(multi_, easy.handle());
  }

  void start_more() {
    if (open_ != nullptr) {
      start_due();
      return;
    }
    // Two facts only the driver knows spare libcurl two walks over its connection cache (see
    // the note at the top); neither changes which connections are reused.
    // - Until a transfer of this batch has finished, every cached connection is busy (the
    //   cache starts empty with the batch), so a reuse search cannot succeed: skip it.
    // - When this pass starts every request that is left, nothing after it can reuse its
    //   transfers' connections, which would only idle until the batch closes them: close each
    //   one as its transfer ends instead of returning it to the cache.
    const bool none_idle = done_ == 0;
    const bool last_pass = next_ + free_.size() >= requests_.size();
    while (!free_.empty() && next_ < requests_.size()) {
      handles_[free_.back()]->prepare(requests_[next_].url);
      if (options_.keep_alive) handles_[free_.back()]->set_reuse(!none_idle, !last_pass);
      start(Clock::now(), Clock::time_point::max());
    }
  }

  void collect() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* h = msg->easy_handle;
      const CURLcode code = msg->data.result;  // read before remove_handle frees msg
      void* slot_ptr = nullptr;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, &slot_ptr);
      const auto slot = reinterpret_cast<std::size_t>(slot_ptr);
      Outcome& out = (*outcomes_)[slot_request_.at(slot)];
      out.end = Clock::now();
      handles_[slot]->finish(code, out);
      out.finished = true;
      curl_easy::cut_off(slot_shortened_[slot], out);
      curl_multi_remove_handle(multi_, h);
      free_.push_back(slot);
      ++done_;
      report_finished(options_, out);
    }
  }

  void finish_batch() {
    // Cleaning up the multi handle closes its cached connections (libcurl removes their
    // sockets through on_socket); with the event wait and the timer cancelled, ctx_.run()
    // returns.
    release_multi();
    poller_.cancel();
    timer_.cancel();
    due_timer_.cancel();
    timer_armed_ = false;
  }

  void release_multi() {
    if (multi_ == nullptr) return;
    for (const auto& h : handles_) curl_multi_remove_handle(multi_, h->handle());
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }

  Options options_;
  asio::io_context ctx_{1};
  asio::posix::stream_descriptor poller_{ctx_};  // the epoll set of libcurl's sockets
  asio::steady_timer timer_{ctx_};
  CURLM* multi_ = nullptr;
  std::vector<std::uint32_t> watched_;  // per descriptor number: its epoll events, 0 if none
  std::array<epoll_event, kMaxEvents> events_{};
  std::vector<std::unique_ptr<curl_easy>> handles_;
  std::vector<std::size_t> free_;          // idle handle slots
  std::vector<std::size_t> slot_request_;  // slot -> request index
  std::vector<bool> slot_shortened_;       // slot -> its timeout ends at the run's deadline
  std::span<const Request> requests_;
  std::vector<Outcome>* outcomes_ = nullptr;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  std::exception_ptr failure_;
  bool timer_armed_ = false;  // timer_ holds a pending wait
  bool tick_posted_ = false;  // a 0 ms timeout is already queued
  // Open loop (fetch_schedule); open_ is null for a batch.
  schedule_result* open_ = nullptr;
  std::span<const Clock::time_point> send_at_;
  schedule_limits limits_;
  asio::steady_timer due_timer_{ctx_};  // the next request's send time
  bool stop_ = false;                   // nothing more is sent
};

}  // namespace

std::unique_ptr<Fetcher> make_curl_multi(const Options& options) {
  return std::make_unique<curl_multi_fetcher>(options);
}

}  // namespace iobench::detail
