// Internal: what the two event loops written for this project (epoll.cpp, uring.cpp) share, so
// that they differ in the kernel interface alone.
//
// loop_connection is one connection's state machine for one request at a time: connect, write
// the request, read the response (judged by response_framing.hpp, the one judge every model
// uses), keep the connection for the next request when the response allows, retry once on a
// fresh connection when a reused one fails before any response byte, and the deadlines (the
// connect step capped by connect_timeout, the whole request by timeout). It never waits and
// never moves a byte itself: each call says what I/O it wants next (next::connect, write, read)
// and the loop does it, by readiness (epoll) or by completion (io_uring), then reports the result
// back. The outcome is final when a call returns next::done.
//
// loop_batch hands requests to connections: a closed-loop batch gives the next request in order
// to each free connection; an open-loop run gives each request at its send time, in order, C at
// most, and stops at the run's deadline or when a send lags past max_lag (as the coroutine model's
// dispatcher does). own_loop.hpp is the rest of a loop that does not depend on the kernel.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http_target.hpp"
#include "models.hpp"
#include "response_framing.hpp"

namespace iobench::detail {

/// Bytes a loop reads per read call.
inline constexpr std::size_t kLoopReadBuffer = 64 * 1024;

/// One connection of an own event loop and the request it carries. Not copyable or movable.
class loop_connection {
 public:
  /// What the connection needs from its loop.
  enum class next {
    connect,  ///< connect fd() to address() (the socket is new, non-blocking); then connected()
    write,    ///< send unsent(); then wrote()
    read,     ///< read into any buffer; then received() or ended()
    done,     ///< the request's Outcome is final
  };

  explicit loop_connection(const Options& options) : options_(&options) {}
  ~loop_connection() { close(); }
  loop_connection(const loop_connection&) = delete;
  loop_connection& operator=(const loop_connection&) = delete;

  /// Starts the request for `url`, whose outcome is `out` (its start stamped), to end by
  /// `deadline`. Reuses the connection when it is open to the same host and port.
  next begin(const std::string& url, Outcome& out, Clock::time_point deadline);
  /// The connect ended: 0, or the errno it failed with.
  next connected(int error);
  /// A send ended: the bytes sent, or -errno.
  next wrote(long result);
  /// Bytes arrived (never empty).
  next received(std::string_view bytes);
  /// The read ended without bytes: 0 when the peer closed, or the errno.
  next ended(int error);
  /// step_deadline() passed while the loop waited on this connection's I/O.
  next expired();

  /// The bytes of the request still to send.
  [[nodiscard]] std::string_view unsent() const {
    return std::string_view(request_).substr(written_);
  }
  /// When the current step must have ended: the connect step's own cap, or the request's.
  [[nodiscard]] Clock::time_point step_deadline() const { return step_deadline_; }
  /// The socket; -1 when closed.
  [[nodiscard]] int fd() const { return fd_; }
  /// Whether fd() was opened by the last begin() or retry (a loop registers new sockets).
  [[nodiscard]] bool opened() const { return opened_; }
  [[nodiscard]] const sockaddr* address() const {
    return reinterpret_cast<const sockaddr*>(&address_);
  }
  [[nodiscard]] socklen_t address_size() const { return address_size_; }
  /// Closes the socket. REQUIRES: no I/O of the loop is pending on it.
  void close();

 private:
  next start_attempt();
  next open_socket();
  // Where to connect, from the target (a name is resolved here); an error message, or empty.
  std::string resolve();
  next finish(ErrorKind error, std::string detail);
  // A failure before any response byte on a reused connection: one retry on a fresh one.
  next retry_or_finish(ErrorKind error, std::string detail);
  next complete();

  const Options* options_;
  int fd_ = -1;
  bool opened_ = false;
  std::string peer_;  // "host:port" fd_ is connected to; empty while connecting or closed
  // The last URL and what it parsed to: a batch repeats a few URLs, parsed once each time they
  // change.
  std::string url_;
  target target_;
  std::string request_;
  std::string address_key_;  // the host:port address_ holds
  sockaddr_storage address_{};
  socklen_t address_size_ = 0;
  std::size_t written_ = 0;
  Outcome* out_ = nullptr;
  Clock::time_point deadline_;
  Clock::time_point step_deadline_;
  bool connecting_ = false;
  Clock::time_point connect_began_;
  bool reused_ = false;
  int attempt_ = 0;
  bool got_bytes_ = false;
  response_framing framing_;
};

/// Which request goes next, closed loop or open loop; stamps and reports what it hands out and
/// what finishes (report_sent, report_finished).
class loop_batch {
 public:
  /// A closed-loop batch: the next request in order to each free connection.
  loop_batch(const Options& options, std::span<const Request> requests,
             std::vector<Outcome>& outcomes);
  /// An open-loop run (Fetcher::fetch_schedule's contract); `result.outcomes` is filled here.
  loop_batch(const Options& options, std::span<const Request> requests,
             std::span<const Clock::time_point> send_at, const schedule_limits& limits,
             schedule_result& result);

  /// How many connections the loop keeps: min(concurrency, requests).
  [[nodiscard]] std::size_t connections() const { return connections_; }
  /// A request for a free connection, now: its index, its Outcome stamped as started (and, in an
  /// open loop, sent and reported). nullopt when none is due yet or none is left.
  std::optional<std::size_t> take();
  /// When the next request not yet taken falls due; max() when none will (closed loop: now).
  [[nodiscard]] Clock::time_point next_due() const;
  /// Whether take() will never give another request.
  [[nodiscard]] bool exhausted() const;
  /// Notes how many due requests wait for a free connection (call once every free connection
  /// has taken what it could).
  void note_waiting();
  /// The request's URL, Outcome and deadline.
  [[nodiscard]] const std::string& url(std::size_t i) const { return requests_[i].url; }
  [[nodiscard]] Outcome& outcome(std::size_t i) { return (*outcomes_)[i]; }
  [[nodiscard]] Clock::time_point deadline(std::size_t i) const;
  /// Stamps the end of request i, whose outcome is final, and reports it.
  void finish(std::size_t i);

 private:
  const Options* options_;
  std::span<const Request> requests_;
  std::vector<Outcome>* outcomes_;
  std::size_t connections_;
  std::size_t next_ = 0;
  // Open loop only.
  std::span<const Clock::time_point> send_at_;
  schedule_limits limits_;
  schedule_result* result_ = nullptr;
  bool stopped_ = false;
};

}  // namespace iobench::detail
