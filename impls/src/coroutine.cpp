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
// Hostile responses (fetcher.hpp's table): the socket is read here and the bytes handed to
// Beast's parser by hand, so that every status line is judged by status_line.hpp before Beast
// consumes it (Beast takes "000", and waits for more where libcurl rejects bytes that cannot
// start a response), what Beast consumes is judged by response_framing.hpp too (Beast takes
// "Transfer-Encoding: gzip", chunked twice, a 17-digit chunk size), interim 1xx responses are
// skipped, header bytes are counted as they are consumed, and the read buffer has a hard size:
// Beast needs a whole chunk-size line, or the whole trailer section, in the buffer at once, so
// capping the buffer caps both, where an unbounded buffer grew to gigabytes on a chunk extension
// that never ends.
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <deque>
#include <exception>

#include "common/counting_body.hpp"
#include "http_target.hpp"
#include "models.hpp"
#include "response_framing.hpp"
#include "status_line.hpp"

namespace iobench::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBuffer = 64 * 1024;
// The most a connection's read buffer may hold: what a header section, a chunk-size line or a
// trailer section may take (each must fit whole for Beast to parse it).
constexpr std::size_t kBufferLimit =
    std::max({kReadBuffer, kMaxHeaderBytes, kMaxChunkLineBytes, kMaxTrailerBytes});

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

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

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
    // Beast sizes each read from the buffer's free capacity (at least 512 bytes), and a buffer
    // that starts small never grows: a 64 KiB body would take 128 reads. Start big instead.
    explicit connection(const asio::any_io_executor& ex) : stream(ex), buffer(kBufferLimit) {
      buffer.reserve(kReadBuffer);
    }
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::string peer;          // "host:port" it is connected to; empty when closed
    response_framing framing;  // judges what Beast consumes (kept: it reuses its line buffer)
    void close() {
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
    const target t = parse_target(url);
    if (!t.error.empty()) {
      out.error = ErrorKind::connect;
      out.detail = t.error;
      co_return;
    }
    const std::string peer = t.host + ":" + t.port;
    std::string request = "GET " + t.path + " HTTP/1.1\r\nHost: " + t.authority +
                          "\r\nUser-Agent: iobench\r\nAccept: */*\r\n";
    if (!options_.keep_alive) request += "Connection: close\r\n";
    request += "\r\n";

    for (int attempt = 0;; ++attempt) {
      const bool reused = conn.peer == peer;
      if (!reused) {
        conn.close();
        if (auto ec = co_await connect(conn, t, deadline); ec) {
          out.error = ErrorKind::connect;
          out.detail =
              (ec == beast::error::timeout ? "connect timeout: " : "connect: ") + ec.message();
          co_return;
        }
        conn.peer = peer;
      }
      // A reused connection the server closed while idle fails before any byte comes back:
      // that is not the request's fault, so it gets one retry on a fresh connection.
      const bool may_retry = reused && attempt == 0;

      conn.stream.expires_at(deadline);
      auto [wec, written] = co_await asio::async_write(conn.stream, asio::buffer(request), kAwait);
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

  // Reads the response to one request into `out`, skipping interim 1xx responses, and returns
  // how it ended (fetcher.hpp's table). `got_bytes`: whether any byte arrived (no retry then).
  // The connection is left open only when it may carry the next request.
  asio::awaitable<ErrorKind> read_response(connection& conn, Clock::time_point deadline,
                                           Outcome& out, bool& got_bytes) const {
    std::size_t header_bytes = 0;  // header sections so far, interim responses' included
    bool final_status = false;     // a final response's status line has arrived
    conn.framing.reset();
    auto over_limit = [&out] {
      out.detail = "header section over " + std::to_string(kMaxHeaderBytes) + " bytes";
      return ErrorKind::bad_response;
    };
    for (;;) {
      http::response_parser<counting_body> parser;
      // Not eager until the header is done, so that what a put() consumes is header bytes only.
      parser.eager(false);
      parser.body_limit(boost::none);
      parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));  // a backstop
      bool line_judged = false;  // Beast consumes a status line only once it is complete
      while (!parser.is_done()) {
        if (conn.buffer.size() > 0) {
          got_bytes = true;
          if (!line_judged) {
            const status_line line = read_status_line(buffered(conn.buffer));
            if (line.kind == status_line_kind::malformed) {
              out.detail = "malformed status line " + quoted_line(buffered(conn.buffer));
              co_return ErrorKind::bad_response;
            }
            if (line.code == 101) {
              out.detail = "101 Switching Protocols, but no upgrade was asked for";
              co_return ErrorKind::bad_response;
            }
            line_judged = line.kind != status_line_kind::incomplete;
            final_status = final_status || line.kind == status_line_kind::final;
          }
          const bool in_header = !parser.is_header_done();
          error_code pec;
          const std::size_t used = parser.put(conn.buffer.data(), pec);
          // What Beast takes, the judge takes too (response_framing.hpp): where Beast is more
          // lenient than RFC 9112 (and than libcurl's side of the judge), the judge decides.
          conn.framing.feed(buffered(conn.buffer).substr(0, used));
          conn.buffer.consume(used);
          if (conn.framing.bad()) {
            out.detail = conn.framing.violation();
            co_return ErrorKind::bad_response;
          }
          if (in_header) header_bytes += used;
          if (header_bytes > kMaxHeaderBytes) co_return over_limit();
          if (parser.is_header_done()) parser.eager(true);
          out.body_bytes = parser.get().body().bytes;
          if (pec && pec != http::error::need_more) {
            out.detail = "read: " + pec.message();
            co_return ErrorKind::bad_response;
          }
          if (parser.is_done()) break;
          if (!pec && used > 0) continue;  // progress, and more of the buffer to parse
        }
        // A server that sends without pause never lets the read below wait for the timer.
        if (Clock::now() >= deadline) {
          out.detail = "read: total timeout";
          co_return ErrorKind::timeout;
        }
        if (!parser.is_header_done() && header_bytes + conn.buffer.size() >= kMaxHeaderBytes) {
          co_return over_limit();
        }
        const std::size_t room = std::min(kReadBuffer, kBufferLimit - conn.buffer.size());
        if (room == 0) {
          // Beast needs a whole chunk-size line, or the whole trailer section, in the buffer.
          out.detail =
              "chunk-size line or trailer section over " + std::to_string(kBufferLimit) + " bytes";
          co_return ErrorKind::bad_response;
        }
        conn.stream.expires_at(deadline);
        auto [ec, n] = co_await conn.stream.async_read_some(conn.buffer.prepare(room), kAwait);
        conn.buffer.commit(n);
        if (!ec) continue;
        // Everything received was parsed before this read, so the connection has ended the
        // response: complete if its body was delimited by the close; otherwise cut short past
        // the final status line, or a failed connection before it.
        if (ec == asio::error::eof && parser.got_some()) {
          error_code eec;
          parser.put_eof(eec);
          if (!eec) break;
        }
        out.detail = "read: " + ec.message();
        if (ec == beast::error::timeout) co_return ErrorKind::timeout;
        co_return final_status ? ErrorKind::bad_response : ErrorKind::reset;
      }
      const auto& res = parser.get();
      if (res.result_int() / 100 == 1) continue;  // interim: skipped, its header counted
      out.status = static_cast<int>(res.result_int());
      out.body_bytes = res.body().bytes;
      // Bytes past the response in this read are no response to anything we sent: they go with
      // the connection (as libcurl does).
      if (!options_.keep_alive || !res.keep_alive() || conn.buffer.size() > 0) conn.close();
      co_return ErrorKind::none;
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

  Options options_;
  asio::io_context ctx_{1};
};

}  // namespace

std::unique_ptr<Fetcher> make_coroutine(const Options& options) {
  return std::make_unique<coroutine_fetcher>(options);
}

}  // namespace iobench::detail
