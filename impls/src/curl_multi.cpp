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
// The bridge's rules (where libcurl's old asiohiper example went wrong):
// - libcurl owns its sockets. We watch them through a posix::stream_descriptor that is released,
//   never closed, when libcurl says CURL_POLL_REMOVE (which it does before closing the socket).
// - A readiness wait is one-shot; it is re-armed after curl_multi_socket_action returns, and only
//   if libcurl still wants that direction. A watcher that was removed meanwhile ignores its
//   completion, since libcurl may already reuse the descriptor number for a new socket.
// - Never call into libcurl from inside its callbacks: a 0 ms timeout becomes a timer that fires
//   on the next loop turn.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <unordered_map>

#include "curl_easy.hpp"
#include "models.hpp"

namespace iobench::detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

class curl_multi_fetcher;

// One socket libcurl asked us to watch.
struct watcher : std::enable_shared_from_this<watcher> {
  watcher(curl_multi_fetcher& f, asio::io_context& ctx, curl_socket_t s)
      : owner(f), fd(s), descriptor(ctx, s) {}
  void arm();
  void remove() {
    removed = true;
    descriptor.release();  // cancels pending waits, deregisters, does not close
  }

  curl_multi_fetcher& owner;
  curl_socket_t fd;
  asio::posix::stream_descriptor descriptor;
  int want = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool removed = false;
};

class curl_multi_fetcher final : public Fetcher {
 public:
  explicit curl_multi_fetcher(const Options& options) : options_(options) { ensure_curl_global(); }

  ~curl_multi_fetcher() override { release_multi(); }
  curl_multi_fetcher(const curl_multi_fetcher&) = delete;
  curl_multi_fetcher& operator=(const curl_multi_fetcher&) = delete;

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    if (requests.empty()) return outcomes;
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

    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &curl_multi_fetcher::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &curl_multi_fetcher::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(window));

    ctx_.restart();
    start_more();
    ctx_.run();
    release_multi();
    outcomes_ = nullptr;
    if (failure_) std::rethrow_exception(failure_);
    return outcomes;
  }

  // Called by a watcher whose socket is ready (or broken).
  void on_ready(curl_socket_t fd, int flags) { drive(fd, flags); }

 private:
  static int on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self_ptr, void* socketp) {
    auto& self = *static_cast<curl_multi_fetcher*>(self_ptr);
    auto* w = static_cast<watcher*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (w != nullptr) {
        w->remove();
        curl_multi_assign(self.multi_, s, nullptr);
        self.watchers_.erase(w);
      }
      return 0;
    }
    if (w == nullptr) {
      auto fresh = std::make_shared<watcher>(self, self.ctx_, s);
      w = fresh.get();
      self.watchers_.emplace(w, std::move(fresh));
      curl_multi_assign(self.multi_, s, w);
    }
    w->want = what;
    w->arm();
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
          self.drive(CURL_SOCKET_TIMEOUT, 0);
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
      self.drive(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }

  // One turn: let libcurl act on the socket (or on its timeout), then collect what finished and
  // top the window up.
  void drive(curl_socket_t fd, int flags) {
    if (multi_ == nullptr) return;
    try {
      int running = 0;
      curl_multi_socket_action(multi_, fd, flags, &running);
      collect();
      start_more();
      if (done_ == requests_.size()) finish_batch();
    } catch (...) {
      // Only a bug or out-of-memory gets here; stop the batch and report it from fetch_all.
      if (!failure_) failure_ = std::current_exception();
      finish_batch();
    }
  }

  void start_more() {
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
      const std::size_t slot = free_.back();
      free_.pop_back();
      const std::size_t i = next_++;
      curl_easy& easy = *handles_[slot];
      easy.prepare(requests_[i].url);
      if (options_.keep_alive) easy.set_reuse(!none_idle, !last_pass);
      slot_request_[slot] = i;
      curl_easy_setopt(easy.handle(), CURLOPT_PRIVATE, reinterpret_cast<void*>(slot));
      (*outcomes_)[i].start = Clock::now();
      curl_multi_add_handle(multi_, easy.handle());
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
      curl_multi_remove_handle(multi_, h);
      free_.push_back(slot);
      ++done_;
      count_completed(options_);
    }
  }

  void finish_batch() {
    // Cleaning up the multi handle closes its cached connections; libcurl removes their
    // watchers through on_socket, the timer is cancelled, and ctx_.run() returns.
    release_multi();
    timer_.cancel();
    timer_armed_ = false;
  }

  void release_multi() {
    if (multi_ == nullptr) return;
    // Stop watching before libcurl closes the sockets, so no descriptor number is deregistered
    // after it may have been reused.
    for (auto& [ptr, w] : watchers_) {
      w->remove();
      curl_multi_assign(multi_, w->fd, nullptr);
    }
    watchers_.clear();
    for (const auto& h : handles_) curl_multi_remove_handle(multi_, h->handle());
    curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }

  Options options_;
  asio::io_context ctx_{1};
  asio::steady_timer timer_{ctx_};
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<curl_easy>> handles_;
  std::vector<std::size_t> free_;          // idle handle slots
  std::vector<std::size_t> slot_request_;  // slot -> request index
  std::unordered_map<watcher*, std::shared_ptr<watcher>> watchers_;
  std::span<const Request> requests_;
  std::vector<Outcome>* outcomes_ = nullptr;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  std::exception_ptr failure_;
  bool timer_armed_ = false;  // timer_ holds a pending wait
  bool tick_posted_ = false;  // a 0 ms timeout is already queued
};

void watcher::arm() {
  if (removed) return;
  if ((want & CURL_POLL_IN) != 0 && !reading) {
    reading = true;
    descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                          [self = shared_from_this()](const error_code& ec) {
                            self->reading = false;
                            if (self->removed) return;
                            self->owner.on_ready(self->fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
                            self->arm();
                          });
  }
  if ((want & CURL_POLL_OUT) != 0 && !writing) {
    writing = true;
    descriptor.async_wait(asio::posix::descriptor_base::wait_write, [self = shared_from_this()](
                                                                        const error_code& ec) {
      self->writing = false;
      if (self->removed) return;
      self->owner.on_ready(self->fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
      self->arm();
    });
  }
}

}  // namespace

std::unique_ptr<Fetcher> make_curl_multi(const Options& options) {
  return std::make_unique<curl_multi_fetcher>(options);
}

}  // namespace iobench::detail
