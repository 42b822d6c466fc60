// coroutine: Boost.Asio C++20 coroutines + Beast on one io_context, run by the caller's thread.
//
// Why it behaves as it does: min(C, N) worker coroutines each own a connection and pull the next
// request from a shared index. When a worker waits for bytes it suspends; the frame (a few
// hundred bytes) and the socket are all that wait, while the one thread serves whichever socket
// epoll reports ready. So C waits overlap like a thread pool's, a batch takes about ceil(N/C) x L,
// but the cost of concurrency is per socket rather than per thread: no stacks, no context
// switches, one thread's CPU. The limit is that one core: at zero delay, parsing and syscalls of
// every connection share it.
//
// Open loop (fetch_schedule): a dispatcher coroutine sleeps to each request's absolute send time
// and queues it; C worker coroutines, each owning a connection as in a batch, take the queue in
// order. A request whose time has come while C are in flight waits in the queue (the lag shows
// in its corrected latency); an idle worker is woken by cancelling its wait, so nothing polls.
//
// Timeouts: one absolute deadline per request (start + timeout) is set on the tcp_stream before
// each operation, so connect + write + read together cannot exceed it; the connect step is also
// capped by connect_timeout. A server that sends without pause never lets a read wait, so the
// deadline is also checked after every read: a body that never ends cannot outrun the timeout.
//
// Responses are read by beast_response.hpp (the judge of hostile ones), shared with the other
// Beast models: they differ from this one in how they wait, not in how they read.
//
// https (tls_client.hpp): an ssl::stream over the connection's tcp_stream, so the same deadline
// covers the handshake, and every read and write goes through OpenSSL on this one thread: with a
// handshake per request, its public-key work is CPU this loop spends while every other connection
// waits.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <deque>
#include <exception>

#include "beast_response.hpp"
#include "http_target.hpp"
#include "models.hpp"
#include "tls_client.hpp"

namespace iobench::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

struct batch {
  std::span<const Request> requests;
  std::vector<Outcome>* outcomes = nullptr;
  std::size_t next = 0;  // one thread: a plain counter is the queue
  std::exception_ptr failure;
};

// An open-loop run on the one thread: no locks, the queue is a deque.
struct open_run {
  std::span<const Request> requests;
  std::span<const Clock::time_point> send_at;
  schedule_limits limits;
  schedule_result* result = nullptr;
  std::deque<std::size_t> queue;          // due, waiting for a worker
  std::vector<asio::steady_timer*> idle;  // workers waiting for the queue; cancel() wakes one
  asio::steady_timer* dispatcher = nullptr;
  bool dispatched = false;  // every request that will be queued has been
  bool stop = false;        // a send lagged past max_lag: nothing more is sent
  std::exception_ptr failure;

  void wake_one() {
    if (idle.empty()) return;
    idle.back()->cancel();
    idle.pop_back();
  }
  void wake_all() {
    while (!idle.empty()) wake_one();
  }
};

class coroutine_fetcher final : public Fetcher {
 public:
  explicit coroutine_fetcher(const Options& options) : options_(options) {}

  std::vector<Outcome> fetch_all(std::span<const Request> requests) override {
    std::vector<Outcome> outcomes(requests.size());
    batch b{requests, &outcomes};
    const std::size_t workers = std::min(options_.concurrency, requests.size());
    ctx_.restart();
    for (std::size_t i = 0; i < workers; ++i) {
      asio::co_spawn(ctx_, worker(b), [&b](std::exception_ptr e) {
        // Per-request failures are values; an exception here is a bug, so it is not swallowed.
        if (e && !b.failure) b.failure = e;
      });
    }
    ctx_.run();
    if (b.failure) std::rethrow_exception(b.failure);
    return outcomes;
  }

  schedule_result fetch_schedule(std::span<const Request> requests,
                                 std::span<const Clock::time_point> send_at,
                                 const schedule_limits& limits) override {
    schedule_result result;
    result.outcomes = unsent_outcomes(send_at);
    open_run r{requests, send_at, limits, &result};
    auto keep_failure = [&r](std::exception_ptr e) {
      if (e && !r.failure) r.failure = e;
    };
    ctx_.restart();
    asio::co_spawn(ctx_, dispatch(r), keep_failure);
    const std::size_t workers = std::min(options_.concurrency, requests.size());
    for (std::size_t i = 0; i < workers; ++i) asio::co_spawn(ctx_, open_worker(r), keep_failure);
    ctx_.run();
    if (r.failure) std::rethrow_exception(r.failure);
    return result;
  }

 private:
  // One connection, reused for every request this worker takes.
  struct connection {
    explicit connection(const asio::any_io_executor& ex)
        : stream(ex), buffer(beast_read_buffer()) {}
    beast::tcp_stream stream;
    std::optional<asio::ssl::stream<beast::tcp_stream&>> tls;  // https: over `stream`
    tls_session session;  // the last TLS connection's, offered to the next
    bool handshaken = false;
    beast::flat_buffer buffer;
    std::string peer;         // "host:port" it is connected to; empty when closed
    beast_response response;  // the response being read (kept: it reuses its buffers)
    void close() {
      // Without close_notify, as most HTTP clients close: the framing already ended the response.
      if (tls && handshaken) session.keep_at_close(tls->native_handle(), peer);
      tls.reset();
      handshaken = false;
      error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.close();
      buffer.clear();
      peer.clear();
    }
  };

  asio::awaitable<void> worker(batch& b) {
    connection conn(co_await asio::this_coro::executor);
    for (;;) {
      const std::size_t i = b.next++;
      if (i >= b.requests.size()) break;
      Outcome& out = (*b.outcomes)[i];
      out.start = Clock::now();
      co_await fetch_one(conn, b.requests[i].url, out);
      out.end = Clock::now();
      report_finished(options_, out);
    }
    conn.close();  // connections close with the batch
  }

  // Sleeps to each send time and queues the request; never sends itself, so a slow response
  // never delays the schedule.
  asio::awaitable<void> dispatch(open_run& r) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    r.dispatcher = &timer;
    for (std::size_t i = 0; i < r.requests.size() && !r.stop; ++i) {
      if (r.send_at[i] >= r.limits.deadline) break;
      timer.expires_at(r.send_at[i]);  // absolute: a late wake-up never moves the next time
      co_await timer.async_wait(kAwait);
      if (r.stop) break;
      r.queue.push_back(i);
      const std::size_t waiting =
          r.queue.size() > r.idle.size() ? r.queue.size() - r.idle.size() : 0;
      r.result->peak_queue = std::max(r.result->peak_queue, waiting);
      r.wake_one();
    }
    r.dispatcher = nullptr;
    r.dispatched = true;
    r.wake_all();
  }

  asio::awaitable<void> open_worker(open_run& r) {
    const auto ex = co_await asio::this_coro::executor;
    connection conn(ex);
    asio::steady_timer wait(ex);
    for (;;) {
      while (r.queue.empty() && !r.dispatched && !r.stop) {
        wait.expires_at(Clock::time_point::max());
        r.idle.push_back(&wait);
        co_await wait.async_wait(kAwait);
        std::erase(r.idle, &wait);
      }
      if (r.stop || r.queue.empty()) break;
      const std::size_t i = r.queue.front();
      const auto now = Clock::now();
      if (now >= r.limits.deadline) break;  // the rest stay unsent
      if (now - r.send_at[i] > r.limits.max_lag) {
        r.stop = true;
        r.result->stopped_early = true;
        if (r.dispatcher != nullptr) r.dispatcher->cancel();
        r.wake_all();
        break;
      }
      r.queue.pop_front();
      Outcome& out = r.result->outcomes[i];
      out.sent = true;
      out.start = now;
      report_sent(options_, r.send_at[i], now);
      const auto deadline = std::min(now + options_.timeout, r.limits.deadline);
      co_await fetch_one(conn, r.requests[i].url, out, deadline);
      out.end = Clock::now();
      // Cut off by the end of the run, not by its own timeout: incomplete, not an error.
      out.finished = !(out.error == ErrorKind::timeout && deadline == r.limits.deadline);
      report_finished(options_, out);
    }
    conn.close();
  }

  asio::awaitable<void> fetch_one(connection& conn, const std::string& url, Outcome& out) {
    co_await fetch_one(conn, url, out, out.start + options_.timeout);
  }

  asio::awaitable<void> fetch_one(connection& conn, const std::string& url, Outcome& out,
                                  Clock::time_point deadline) {
    const target t = parse_target(url, true);
    if (t.tls && !tls_) tls_.emplace(options_);  // http runs never load OpenSSL's state
    if (!t.error.empty() || (t.tls && !tls_->error().empty())) {
      out.error = ErrorKind::connect;
      out.detail = t.error.empty() ? tls_->error() : t.error;
      co_return;
    }
    const std::string peer = t.host + ":" + t.port;
    const std::string request = get_request(t, options_.keep_alive);

    for (int attempt = 0;; ++attempt) {
      const bool reused = conn.peer == peer;
      if (!reused) {
        conn.close();
        const auto began = Clock::now();
        if (auto ec = co_await connect(conn, t, deadline); ec) {
          out.error = ErrorKind::connect;
          out.detail =
              (ec == beast::error::timeout ? "connect timeout: " : "connect: ") + ec.message();
          co_return;
        }
        conn.peer = peer;
        if (t.tls) {
          if (std::string why = co_await handshake(conn, t, deadline); !why.empty()) {
            conn.close();
            out.error = ErrorKind::connect;
            out.detail = std::move(why);
            co_return;
          }
        }
        out.new_connection = true;
        out.connect_time = Clock::now() - began;
      }
      // A reused connection the server closed while idle fails before any byte comes back:
      // that is not the request's fault, so it gets one retry on a fresh connection.
      const bool may_retry = reused && attempt == 0;

      conn.stream.expires_at(deadline);
      auto [wec, written] =
          conn.tls ? co_await asio::async_write(*conn.tls, asio::buffer(request), kAwait)
                   : co_await asio::async_write(conn.stream, asio::buffer(request), kAwait);
      if (wec) {
        conn.close();
        if (may_retry && wec != beast::error::timeout) continue;
        out.error = wec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::reset;
        out.detail = "write: " + wec.message();
        co_return;
      }

      bool got_bytes = false;
      const ErrorKind error = co_await read_response(conn, deadline, out, got_bytes);
      if (error != ErrorKind::none) {
        conn.close();
        if (may_retry && !got_bytes && error != ErrorKind::timeout) {
          out.detail.clear();
          out.body_bytes = 0;
          continue;
        }
        out.status = 0;
        out.error = error;
      }
      co_return;
    }
  }

  // Reads the response to one request into `out` (beast_response.hpp) and returns how it ended
  // (fetcher.hpp's table). `got_bytes`: whether any byte arrived (no retry then). The connection
  // is left open only when it may carry the next request.
  asio::awaitable<ErrorKind> read_response(connection& conn, Clock::time_point deadline,
                                           Outcome& out, bool& got_bytes) const {
    beast_response& response = conn.response;
    response.start();
    for (;;) {
      std::optional<ErrorKind> ended = response.parse(conn.buffer, deadline, out);
      if (!ended) {
        conn.stream.expires_at(deadline);
        const auto space = conn.buffer.prepare(response.room(conn.buffer));
        auto [ec, n] = conn.tls ? co_await conn.tls->async_read_some(space, kAwait)
                                : co_await conn.stream.async_read_some(space, kAwait);
        conn.buffer.commit(n);
        if (!ec) continue;
        // A close without close_notify is the end of the stream, as over http (tls_client.hpp).
        if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
        ended = response.read_ended(ec, out);
      }
      got_bytes = response.got_bytes();
      // Bytes past the response in this read are no response to anything we sent: they go
      // with the connection (as libcurl does).
      if (*ended == ErrorKind::none &&
          (!options_.keep_alive || !response.keep_alive() || conn.buffer.size() > 0)) {
        conn.close();
      }
      co_return *ended;
    }
  }

  asio::awaitable<error_code> connect(connection& conn, const target& t,
                                      Clock::time_point deadline) {
    conn.stream.expires_at(std::min(deadline, Clock::now() + options_.connect_timeout));
    error_code ec;
    const auto address = asio::ip::make_address(t.host, ec);
    if (!ec) {
      auto [cec] =
          co_await conn.stream.async_connect(tcp::endpoint(address, t.port_number), kAwait);
      ec = cec;
    } else {
      // A name: resolve it (Asio does this on a helper thread; numeric hosts never get here).
      tcp::resolver resolver(conn.stream.get_executor());
      auto [rec, results] = co_await resolver.async_resolve(t.host, t.port, kAwait);
      if (rec) co_return rec;
      auto [cec, ep] = co_await conn.stream.async_connect(results, kAwait);
      ec = cec;
    }
    if (!ec) conn.stream.socket().set_option(tcp::no_delay(true), ec);
    co_return ec;
  }

  // The TLS handshake on a connected `conn`, resuming its last session with this server when it
  // has one: why it failed, or empty.
  asio::awaitable<std::string> handshake(connection& conn, const target& t,
                                         Clock::time_point deadline) {
    conn.tls.emplace(conn.stream, tls_->asio());
    if (!tls_->prepare(conn.tls->native_handle(), t.host, conn.session.for_peer(conn.peer))) {
      co_return "tls: cannot set up the connection";
    }
    conn.stream.expires_at(std::min(deadline, Clock::now() + options_.connect_timeout));
    auto [ec] = co_await conn.tls->async_handshake(asio::ssl::stream_base::client, kAwait);
    if (!ec) {
      conn.handshaken = true;
      co_return std::string();
    }
    if (ec == beast::error::timeout) co_return "connect timeout: tls handshake";
    const std::string why = tls_error_reason(conn.tls->native_handle());
    co_return "tls: " + (why.empty() ? ec.message() : why);
  }

  Options options_;
  std::optional<tls_client_context> tls_;  // made for the first https URL
  asio::io_context ctx_{1};
};

}  // namespace

std::unique_ptr<Fetcher> make_coroutine(const Options& options) {
  return std::make_unique<coroutine_fetcher>(options);
}

}  // namespace iobench::detail
