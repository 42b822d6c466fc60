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

#include "own_loop.hpp"

namespace iobench::detail {
namespace {

constexpr int kMaxEvents = 256;  // readiness events taken per epoll_pwait2

struct epoll_slot : loop_slot {
  using loop_slot::loop_slot;
  bool readable = false;        // an input edge not yet drained
  bool closed_by_peer = false;  // FIN, RST or an error seen: readable for good
};

class epoll_fetcher final : public own_loop<epoll_slot> {
 public:
  explicit epoll_fetcher(const Options& options)
      : own_loop(options), buffer_(std::make_unique_for_overwrite<char[]>(kLoopReadBuffer)) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  }
  ~epoll_fetcher() override { ::close(epfd_); }
  epoll_fetcher(const epoll_fetcher&) = delete;
  epoll_fetcher& operator=(const epoll_fetcher&) = delete;

 private:
  void wait(Clock::time_point wake) override {
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
    for (int k = 0; k < n; ++k) on_event(events_[k].data.u64, events_[k].events);
  }

  void on_event(std::size_t s, std::uint32_t ev) {
    epoll_slot& sl = slot(s);
    constexpr std::uint32_t kClosed = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    if ((ev & (EPOLLIN | kClosed)) != 0) sl.readable = true;
    if ((ev & kClosed) != 0) sl.closed_by_peer = true;
    if (!sl.busy) return;  // an idle connection: its next request will see what happened
    const bool out = (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
    if (sl.want == next::connect && out) {
      int error = 0;
      socklen_t len = sizeof error;
      if (::getsockopt(sl.conn.fd(), SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
      drive(s, sl.conn.connected(error));
    } else if ((sl.want == next::write && out) || (sl.want == next::read && sl.readable)) {
      drive(s, sl.want);
    }
  }

  void on_expired(std::size_t s) override { drive(s, slot(s).conn.expired()); }

  std::optional<next> act(std::size_t s, next n) override {
    switch (n) {
      case next::connect:
        return start_connect(s);
      case next::write:
        return send_some(slot(s));
      case next::read:
        return read_some(slot(s));
      case next::done:
        break;
    }
    return n;
  }

  std::optional<next> start_connect(std::size_t s) {
    epoll_slot& sl = slot(s);
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

  static std::optional<next> send_some(epoll_slot& sl) {
    const auto bytes = sl.conn.unsent();
    const ssize_t r = ::send(sl.conn.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (r >= 0) return sl.conn.wrote(r);
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    if (errno == EINTR) return next::write;
    return sl.conn.wrote(-errno);
  }

  std::optional<next> read_some(epoll_slot& sl) {
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

  int epfd_ = -1;
  std::unique_ptr<char[]> buffer_;
  epoll_event events_[kMaxEvents]{};
  bool pwait2_ = true;  // epoll_pwait2 exists (Linux 5.11+)
};

}  // namespace

std::unique_ptr<Fetcher> make_epoll(const Options& options) {
  return std::make_unique<epoll_fetcher>(options);
}

}  // namespace iobench::detail
