// epoll: one thread (the caller's), non-blocking sockets and an event loop written for this
// project over epoll; no library between the model and the kernel.
//
// Why it behaves as it does: like coroutine it overlaps C waits on one thread, so a batch takes
// about ceil(N/C) x L; unlike it, nothing stands between the request and the syscalls: no
// executor, no coroutine frame, no handler allocation, no Beast parser. A connection is a state
// machine (loop_connection.hpp, shared with uring) that says what I/O it wants; this loop does
// it at once and waits only when the kernel says EAGAIN. So this model is the floor of what an
// event loop costs per request on this machine: a keep-alive request is one send, one recv and
// a share of one epoll_wait, and the CPU left over is the response judge's and the kernel's.
//
// How: every socket is registered once, edge-triggered, for input and output (one epoll_ctl per
// connection, none per request; closing the socket removes it). An edge says only that
// something changed, so the loop remembers it per connection: "readable" until a recv comes back
// short of its buffer (the queue was empty then, so the next arrival raises a new edge) or
// EAGAIN, and for good once the peer closed or reset (no new edge follows a FIN already seen).
// A send is tried at once (a socket's send buffer is nearly always free), and only an EAGAIN
// waits for the output edge. Timeouts: each connection's step deadline (connect capped by
// connect_timeout, then the request's) sits in a heap, and epoll_pwait2 sleeps until the earliest
// one or the next open-loop send time, to the nanosecond. One read buffer serves every
// connection: the judge keeps what it needs of a line split across reads, never the bytes.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <memory>
#include <system_error>

#include "loop_connection.hpp"

namespace iobench::detail {
namespace {

using next = loop_connection::next;

constexpr int kMaxEvents = 256;  // readiness events taken per epoll_pwait2

class epoll_fetcher final : public Fetcher {
 public:
  explicit epoll_fetcher(const Options& options)
      : options_(options), buffer_(std::make_unique<char[]>(kLoopReadBuffer)) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~epoll_fetcher() override { ::close(epfd_); }
  epoll_fetcher(const epoll_fetcher&) = delete;
  epoll_fetcher& operator=(const epoll_fetcher&) = delete;

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

 private:
  struct slot {
    explicit slot(const Options& o) : conn(o) {}
    loop_connection conn;
    std::size_t request = 0;
    bool busy = false;
    next want = next::done;        // the I/O it waits for, while busy
    bool readable = false;         // an input edge not yet drained
    bool closed_by_peer = false;   // FIN, RST or an error seen: readable for good
    Clock::time_point armed;       // the deadline in the heap for it
    std::uint64_t generation = 0;  // the heap entry that is live
  };

  void run(loop_batch& b) {
    slots_.clear();
    idle_.clear();
    heap_.clear();
    busy_ = 0;
    for (std::size_t s = 0; s < b.connections(); ++s) {
      slots_.push_back(std::make_unique<slot>(options_));
      idle_.push_back(b.connections() - 1 - s);  // slot 0 first
    }
    fill(b);
    while (busy_ > 0 || !b.exhausted()) {
      wait(b);
      expire(b);
      fill(b);
    }
    slots_.clear();  // connections close with the batch
  }

  // Gives each free connection a request while one is due.
  void fill(loop_batch& b) {
    while (!idle_.empty()) {
      const auto i = b.take();
      if (!i) break;
      const std::size_t s = idle_.back();
      idle_.pop_back();
      slot& sl = *slots_[s];
      sl.busy = true;
      ++busy_;
      sl.request = *i;
      drive(b, s, sl.conn.begin(b.url(*i), b.outcome(*i), b.deadline(*i)));
    }
    b.note_waiting();
  }

  void wait(loop_batch& b) {
    auto wake = idle_.empty() ? Clock::time_point::max() : b.next_due();
    if (const auto e = heap_.top([this](const auto& e) { return live(e); }); e && e->at < wake)
      wake = e->at;
    timespec ts{};
    timespec* timeout = nullptr;
    if (wake != Clock::time_point::max()) {
      const auto ns = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now()).count());
      ts.tv_sec = ns / 1'000'000'000;
      ts.tv_nsec = ns % 1'000'000'000;
      timeout = &ts;
    }
    int n = pwait2_ ? ::epoll_pwait2(epfd_, events_, kMaxEvents, timeout, nullptr) : -1;
    if (n < 0 && (!pwait2_ || errno == ENOSYS)) {
      // A kernel before 5.11: epoll_wait, to the millisecond (rounded up: never early).
      pwait2_ = false;
      const int ms = timeout == nullptr
                         ? -1
                         : static_cast<int>(std::min<std::int64_t>(
                               (ts.tv_sec * 1'000'000'000LL + ts.tv_nsec + 999'999) / 1'000'000,
                               std::numeric_limits<int>::max()));
      n = ::epoll_wait(epfd_, events_, kMaxEvents, ms);
    }
    if (n < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "epoll_pwait2");
    }
    for (int k = 0; k < n; ++k) on_event(b, events_[k].data.u64, events_[k].events);
  }

  void on_event(loop_batch& b, std::size_t s, std::uint32_t ev) {
    slot& sl = *slots_[s];
    constexpr std::uint32_t kClosed = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    if ((ev & (EPOLLIN | kClosed)) != 0) sl.readable = true;
    if ((ev & kClosed) != 0) sl.closed_by_peer = true;
    if (!sl.busy) return;  // an idle connection: its next request will see what happened
    const bool out = (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
    if (sl.want == next::connect && out) {
      int error = 0;
      socklen_t len = sizeof error;
      if (::getsockopt(sl.conn.fd(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
      drive(b, s, sl.conn.connected(error));
    } else if ((sl.want == next::write && out) || (sl.want == next::read && sl.readable)) {
      drive(b, s, sl.want);
    }
  }

  // Ends the waits whose deadline has passed.
  void expire(loop_batch& b) {
    const auto now = Clock::now();
    while (const auto e = heap_.top([this](const auto& e) { return live(e); })) {
      if (e->at > now) break;
      heap_.pop();
      slots_[e->slot]->armed = {};
      drive(b, e->slot, slots_[e->slot]->conn.expired());
    }
  }

  // A heap entry still counts while its connection waits on the step it was pushed for.
  [[nodiscard]] bool live(const deadline_heap::entry& e) const {
    const slot& sl = *slots_[e.slot];
    return sl.busy && sl.generation == e.generation;
  }

  // Does what the connection wants until it must wait (or its request is done and no other is
  // due for it).
  void drive(loop_batch& b, std::size_t s, next n) {
    slot& sl = *slots_[s];
    for (;;) {
      std::optional<next> step;
      switch (n) {
        case next::connect:
          step = start_connect(sl, s);
          break;
        case next::write:
          step = send_some(sl);
          break;
        case next::read:
          step = read_some(sl);
          break;
        case next::done: {
          b.finish(sl.request);
          const auto i = b.take();
          if (!i) {
            sl.busy = false;
            --busy_;
            sl.want = next::done;
            idle_.push_back(s);
            return;
          }
          sl.request = *i;
          step = sl.conn.begin(b.url(*i), b.outcome(*i), b.deadline(*i));
          break;
        }
      }
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

  std::optional<next> start_connect(slot& sl, std::size_t s) {
    const int fd = sl.conn.fd();
    sl.readable = false;
    sl.closed_by_peer = false;
    int error = 0;
    if (::connect(fd, sl.conn.address(), sl.conn.address_size()) != 0) error = errno;
    if (error != 0 && error != EINPROGRESS) return sl.conn.connected(error);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = s;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return sl.conn.connected(errno);
    if (error == 0) return sl.conn.connected(0);
    return std::nullopt;  // the output edge says it is done
  }

  std::optional<next> send_some(slot& sl) {
    const auto bytes = sl.conn.unsent();
    const ssize_t r = ::send(sl.conn.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (r >= 0) return sl.conn.wrote(r);
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    if (errno == EINTR) return next::write;
    return sl.conn.wrote(-errno);
  }

  std::optional<next> read_some(slot& sl) {
    while (sl.readable) {
      const ssize_t r = ::recv(sl.conn.fd(), buffer_.get(), kLoopReadBuffer, 0);
      if (r > 0) {
        // Short of the buffer: the queue was empty, so the next arrival raises a new edge.
        if (static_cast<std::size_t>(r) < kLoopReadBuffer && !sl.closed_by_peer) {
          sl.readable = false;
        }
        const next n = sl.conn.received({buffer_.get(), static_cast<std::size_t>(r)});
        if (n != next::read) return n;
        continue;
      }
      if (r == 0) return sl.conn.ended(0);
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return sl.conn.ended(errno);
      sl.readable = false;
    }
    return std::nullopt;
  }

  Options options_;
  int epfd_ = -1;
  std::unique_ptr<char[]> buffer_;
  epoll_event events_[kMaxEvents]{};
  std::vector<std::unique_ptr<slot>> slots_;
  std::vector<std::size_t> idle_;
  deadline_heap heap_;
  std::size_t busy_ = 0;
  bool pwait2_ = true;  // epoll_pwait2 exists (Linux 5.11+)
};

}  // namespace

std::unique_ptr<Fetcher> make_epoll(const Options& options) {
  return std::make_unique<epoll_fetcher>(options);
}

}  // namespace iobench::detail
