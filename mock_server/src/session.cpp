// One connection, one coroutine: it reads a request, serves it, and loops, so pipelined requests
// are answered in order without any bookkeeping.
//
// A delay is a steady_timer raced against "the socket became readable" (awaitable operator ||).
// Waiting for readability consumes nothing, so losing that race never loses pipelined bytes; when
// it wins we read what is there: bytes are kept for the next request, EOF means the client left
// and the request is counted as cancelled (its timer goes with it).
//
// Requests are read by a loop of our own around Beast's parser rather than http::async_read, for
// two checks Beast does not make. It stops after the head, so the framing is judged before any
// body byte is read (a body the server would frame differently from a proxy in front of it is a
// smuggled request). And it bounds what the parser leaves unconsumed: Beast waits for a whole
// chunk line and for the whole trailer section before it consumes any of it, and neither counts
// against the header or the body limit, so an endless chunk extension or trailer would otherwise
// grow the read buffer without end. It counts the head's bytes itself, since Beast applies its
// header limit to what one put() sees and consumes complete field lines as it goes. And where a
// line of chunked framing ends in a bare LF, it answers 400 rather than waiting, as Beast would,
// for a CRLF that never comes.
//
// A request body is read as it arrives and dropped (counting_body): only its length is kept, for
// /stats, so a thousand clients each sending a megabyte hold a thousand read buffers, not a
// gigabyte.
#include "session.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <span>

#include "common/counting_body.hpp"
#include "common/units.hpp"
#include "mock_server/wire.hpp"
#include "request_checks.hpp"

namespace iobench::mock::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kMaxPipelineBytes = 64 * 1024;  // buffered while a delay runs
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::uint64_t kDripPieces = 16;
constexpr auto kLingerTime = 1s;  // drain input after an error answer

enum class next_step { keep_going, close };

// Sums of durations from a server_config a library user filled in (the command line bounds them
// to a day) must wait "forever" rather than wrap into the past: both arguments are >= 0.
std::chrono::nanoseconds saturating_add(std::chrono::nanoseconds a, std::chrono::nanoseconds b) {
  return b > std::chrono::nanoseconds::max() - a ? std::chrono::nanoseconds::max() : a + b;
}

steady::time_point deadline_after(std::chrono::nanoseconds d) {
  const auto now = steady::now();
  return d > steady::time_point::max() - now ? steady::time_point::max() : now + d;
}

using request_parser = http::request_parser<counting_body>;

// How one response is framed on the wire, decided once per request.
struct framing {
  bool head_only = false;
  bool keep_alive = true;
  bool http10 = false;
};

class session {
 public:
  session(tcp::socket s, loop& home, shared_state& shared)
      : c_(std::move(s), home), shared_(shared), stats_(shared.stats) {
    home.connections.push_front(&c_);
    c_.self = home.connections.begin();
  }
  ~session() {
    loop& home = c_.home;
    if (home.sweep_cursor == c_.self) ++home.sweep_cursor;
    home.connections.erase(c_.self);
    stats_.on_close();
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  asio::awaitable<void> run();

 private:
  bool stopping() const { return shared_.stopping.load(std::memory_order_relaxed); }

  asio::awaitable<std::optional<read_failure>> read_request(request_parser& parser);
  std::optional<read_failure> check_unconsumed(const request_parser& parser) const;
  asio::awaitable<next_step> serve(http::request<counting_body>& req);
  asio::awaitable<next_step> serve_behaviour(const behaviour& b, framing f);
  asio::awaitable<next_step> deliver_fault(const behaviour& b, const wire::head_fields& f,
                                           bool head_only);
  asio::awaitable<bool> wait_delay(steady::time_point deadline);
  // POST /stall's duration, if `query` is a valid "for=D" within the delay limit.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> stall_duration(
      std::string_view query) const;
  asio::awaitable<void> wait_until_gone();
  asio::awaitable<void> linger_close();
  asio::awaitable<error_code> write(std::span<const asio::const_buffer> bufs);
  asio::awaitable<next_step> send_simple(int status, std::string_view body, framing f,
                                         std::string_view content_type = "text/plain",
                                         std::string_view extra = {});
  asio::awaitable<next_step> reject_request(int status, std::string message, framing f,
                                            std::string_view extra = {});

  connection c_;
  shared_state& shared_;
  server_stats& stats_;
  beast::flat_buffer buf_;       // read ahead: pipelined bytes wait here for their turn
  chunk_ext_counter chunk_ext_;  // the current request's; the parser holds a reference
};

asio::awaitable<void> session::run() {
  error_code ec;
  c_.socket.set_option(tcp::no_delay(true), ec);
  c_.socket.non_blocking(true, ec);
  for (;;) {
    if (stopping()) break;
    c_.idle = true;
    c_.since = steady::now();
    request_parser parser;
    const auto failure = co_await read_request(parser);
    c_.idle = false;
    if (failure) {
      if (failure->status == 0) break;  // the client has gone
      stats_.on_bad_request();
      stats_.on_response(failure->status);
      co_await send_simple(failure->status, failure->message + "\n", {.keep_alive = false});
      co_await linger_close();
      co_return;
    }
    if (co_await serve(parser.get()) == next_step::close) break;
  }
  c_.socket.shutdown(tcp::socket::shutdown_send, ec);
  c_.socket.close(ec);
}

asio::awaitable<std::optional<read_failure>> session::read_request(request_parser& parser) {
  chunk_ext_.bytes = 0;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
  parser.on_chunk_header(chunk_ext_);
  parser.eager(false);  // stop after the head: its framing is checked before the body is read
  bool head_checked = false;
  // Beast consumes complete field lines as they come and applies its header limit to what each
  // put() sees, so a head fed in pieces could grow past it: the head's bytes are counted here.
  std::size_t head_bytes = 0;
  // The body's bytes, counted into /stats as they arrive (and are dropped).
  std::uint64_t body_counted = 0;
  const auto count_body = [&] {
    const std::uint64_t bytes = parser.get().body().bytes;
    stats_.on_request_body(bytes - body_counted);
    body_counted = bytes;
  };
  for (;;) {
    while (buf_.size() > 0 && !parser.is_done()) {
      error_code ec;
      const bool in_head = !parser.is_header_done();
      const std::size_t used = parser.put(buf_.data(), ec);
      buf_.consume(used);
      count_body();
      if (in_head) head_bytes += used;
      if (head_bytes > kMaxHeaderBytes) co_return head_over_limit();
      if (chunk_ext_.bytes > kMaxChunkExtBytes) co_return chunk_ext_over_limit();
      if (ec == http::error::need_more) break;
      if (ec) co_return parse_failure(ec);
      if (parser.is_header_done() && !head_checked) {
        head_checked = true;
        if (auto bad = check_framing(parser.get())) co_return bad;
        parser.eager(true);
      }
      if (used == 0) break;
    }
    if (parser.is_done()) co_return std::nullopt;
    // What the parser left unconsumed is all head until the head is done.
    if (!parser.is_header_done() && head_bytes + buf_.size() > kMaxHeaderBytes) {
      co_return head_over_limit();
    }
    if (auto bad = check_unconsumed(parser)) co_return bad;
    auto [ec, n] = co_await c_.socket.async_read_some(buf_.prepare(kReadChunk), kAwait);
    // EOF, a reset, or the socket closed by the idle sweeper or stop(): nothing to answer, even
    // halfway through a request.
    if (ec) co_return read_failure{};
    buf_.commit(n);
  }
}

std::optional<read_failure> session::check_unconsumed(const request_parser& parser) const {
  // Only a chunked body leaves bytes unconsumed once the head is parsed: an unfinished chunk line,
  // or the last chunk and its unfinished trailer section. (The head has Beast's header limit.)
  if (!parser.is_header_done() || !parser.chunked()) return std::nullopt;
  const std::string_view pending(static_cast<const char*>(buf_.data().data()), buf_.size());
  if (auto bad = check_line_ends(pending)) return bad;
  if (chunk_ext_.bytes + pending.size() <= std::min(kMaxChunkExtBytes, kMaxTrailerBytes)) {
    return std::nullopt;
  }
  // The CRLF that ends the previous chunk's data is left for the next chunk line to consume.
  const std::size_t from = pending.starts_with("\r\n") ? 2 : 0;
  if (pending.find("\r\n", from) == std::string_view::npos) {
    if (chunk_ext_.bytes + pending.size() > kMaxChunkExtBytes) return chunk_ext_over_limit();
  } else if (pending.size() > kMaxTrailerBytes) {
    return read_failure{431,
                        "request trailers over " + std::to_string(kMaxTrailerBytes) + " bytes"};
  }
  return std::nullopt;
}

asio::awaitable<next_step> session::serve(http::request<counting_body>& req) {
  const framing f{.keep_alive = req.keep_alive() && !stopping(), .http10 = req.version() < 11};
  const auto method = req.method();
  const bool is_get = method == http::verb::get;
  const bool is_head = method == http::verb::head;
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  // What a GET or HEAD is answered with; error answers carry their body even to a HEAD.
  framing asked = f;
  asked.head_only = is_head;

  // Control endpoints: not counted as requests, so /stats describes the load alone.
  if (path == "/stats") {
    if (!is_get && !is_head) {
      co_return co_await send_simple(405, "use GET /stats\n", f, "text/plain",
                                     "Allow: GET, HEAD\r\n");
    }
    const std::string json = stats_.snapshot().to_json() + "\n";
    co_return co_await send_simple(200, json, asked, "application/json");
  }
  if (path == "/stats/reset") {
    if (method != http::verb::post) {
      co_return co_await send_simple(405, "use POST /stats/reset\n", f, "text/plain",
                                     "Allow: POST\r\n");
    }
    stats_.reset();
    co_return co_await send_simple(200, "reset\n", f);
  }
  if (path == "/stall") {
    if (method != http::verb::post) {
      co_return co_await send_simple(405, "use POST /stall?for=DURATION\n", f, "text/plain",
                                     "Allow: POST\r\n");
    }
    const auto how_long = stall_duration(query);
    if (!how_long) {
      co_return co_await send_simple(400,
                                     "stall: expected for=DURATION (e.g. 1s), 0 to " +
                                         format_duration(shared_.cfg.lim.max_delay) + "\n",
                                     f);
    }
    // Extends, never shortens, a stall already running.
    const auto until = deadline_after(*how_long).time_since_epoch().count();
    auto current = shared_.stalled_until.load();
    while (current < until && !shared_.stalled_until.compare_exchange_weak(current, until)) {
    }
    co_return co_await send_simple(200, "stalled for " + format_duration(*how_long) + "\n", f);
  }
  if (path == "/healthz") {
    if (!is_get && !is_head) {
      co_return co_await send_simple(405, "use GET /healthz\n", f, "text/plain",
                                     "Allow: GET, HEAD\r\n");
    }
    co_return co_await send_simple(200, "ok", asked);
  }

  stats_.on_request();
  if (!is_get && !is_head) {
    co_return co_await reject_request(
        405, "method " + std::string(req.method_string()) + " not allowed; accepted: GET, HEAD", f,
        "Allow: GET, HEAD\r\n");
  }
  auto parsed = parse_behaviour(query, shared_.cfg.defaults, shared_.cfg.lim);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    co_return co_await reject_request(400, *err, f);
  }
  const auto& b = std::get<behaviour>(parsed);
  if (b.chunked && f.http10) {
    co_return co_await reject_request(400, "chunked: needs HTTP/1.1; this request is HTTP/1.0", f);
  }
  co_return co_await serve_behaviour(b, asked);
}

std::optional<std::chrono::nanoseconds> session::stall_duration(std::string_view query) const {
  // The query is exactly "for=DURATION".
  if (!query.starts_with("for=")) return std::nullopt;
  const auto d = parse_duration(query.substr(4));
  if (!d || *d > shared_.cfg.lim.max_delay) return std::nullopt;
  return d;
}

asio::awaitable<bool> session::wait_delay(steady::time_point deadline) {
  asio::steady_timer timer(c_.socket.get_executor(), deadline);
  for (;;) {
    if (buf_.size() >= kMaxPipelineBytes) {
      // Enough pipelined input is buffered; stop reading and just wait.
      co_await timer.async_wait(kAwait);
      co_return c_.socket.is_open();
    }
    auto r =
        co_await (timer.async_wait(kAwait) || c_.socket.async_wait(tcp::socket::wait_read, kAwait));
    if (r.index() == 0) co_return c_.socket.is_open();
    if (std::get<0>(std::get<1>(r))) co_return false;  // socket closed under us (shutdown)
    error_code ec;
    const std::size_t n = c_.socket.read_some(buf_.prepare(kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) co_return false;  // EOF or reset: the client has gone
    buf_.commit(n);           // pipelined bytes: the next request
  }
}

asio::awaitable<void> session::wait_until_gone() {
  std::array<char, 4096> scratch{};
  for (;;) {
    auto [ec] = co_await c_.socket.async_wait(tcp::socket::wait_read, kAwait);
    if (ec) co_return;
    error_code rec;
    c_.socket.read_some(asio::buffer(scratch), rec);
    if (rec && rec != asio::error::would_block && rec != asio::error::try_again) co_return;
  }
}

asio::awaitable<next_step> session::serve_behaviour(const behaviour& b, framing f) {
  struct flight {
    server_stats& s;
    explicit flight(server_stats& st) : s(st) { s.begin_flight(); }
    ~flight() { s.end_flight(); }
  } in_flight{stats_};

  if (b.fail == fault::hang) {
    stats_.on_fault();
    co_await wait_until_gone();
    co_return next_step::close;
  }

  std::chrono::nanoseconds delay{0};
  if (b.seed) {
    std::mt19937_64 rng(*b.seed);
    delay = sample_delay(b, rng, shared_.cfg.lim.max_delay);
  } else {
    delay = sample_delay(b, c_.home.rng, shared_.cfg.lim.max_delay);
  }
  delay = saturating_add(delay, shared_.cfg.extra_delay);
  std::chrono::nanoseconds late{0};
  if (delay.count() > 0) {
    const auto deadline = deadline_after(delay);
    if (!co_await wait_delay(deadline)) {
      stats_.on_cancel();
      co_return next_step::close;
    }
    late = std::max(steady::now() - deadline, steady::duration::zero());
    stats_.on_late(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(late).count()));
  }
  // A stall (POST /stall) holds every answer due while it lasts; the timer lateness above is the
  // server's own, the stall is what was asked for.
  if (const auto until = steady::time_point(steady::duration(shared_.stalled_until.load()));
      steady::now() < until && !co_await wait_delay(until)) {
    stats_.on_cancel();
    co_return next_step::close;
  }
  // Keep-alive is decided now, not on arrival: a stop() during the delay must say "close".
  wire::head_fields head{.content_type = "application/octet-stream",
                         .keep_alive = f.keep_alive && !stopping(),
                         .http10 = f.http10,
                         .delay = delay,
                         .late = late};
  if (!b.chunked) head.content_length = b.bytes;
  if (b.fail != fault::none) co_return co_await deliver_fault(b, head, f.head_only);

  // A normal answer: head, then the body in one piece or dripped in up to kDripPieces pieces.
  const bool no_body = f.head_only || !wire::status_has_body(b.status);
  wire::build_head(c_.head, b.status, head);
  stats_.on_response(b.status);

  const bool dripping = b.drip.count() > 0 && !no_body && b.bytes > 0;
  const std::uint64_t pieces = dripping ? std::min(kDripPieces, b.bytes) : 1;
  const auto start = steady::now();
  std::string chunk_head;
  c_.out.assign({asio::buffer(c_.head)});
  if (dripping) {
    if (co_await write(c_.out)) co_return next_step::close;  // the head goes out at once
    c_.out.clear();
  }
  for (std::uint64_t i = 0; i < pieces; ++i) {
    // Between pieces, wait like a delay does: a client that leaves, or a stop() that closes the
    // socket, ends the wait instead of leaving a timer that keeps the event loop alive.
    if (dripping && !co_await wait_delay(start + b.drip * static_cast<std::int64_t>(i + 1) /
                                                     static_cast<std::int64_t>(pieces))) {
      co_return next_step::close;
    }
    if (!no_body) {
      const std::uint64_t from = b.bytes * i / pieces;
      const std::uint64_t to = b.bytes * (i + 1) / pieces;
      if (b.chunked && to > from) {  // a zero-size chunk would end the body
        chunk_head.clear();
        wire::append_chunk_header(chunk_head, to - from);
        c_.out.emplace_back(asio::buffer(chunk_head));
      }
      wire::append_body(c_.out, from, to - from);
      if (b.chunked && to > from) c_.out.emplace_back(asio::buffer(wire::kChunkEnd));
      if (b.chunked && i + 1 == pieces) c_.out.emplace_back(asio::buffer(wire::kLastChunk));
    }
    if (!c_.out.empty() && co_await write(c_.out)) co_return next_step::close;
    c_.out.clear();
  }
  co_return head.keep_alive ? next_step::keep_going : next_step::close;
}

asio::awaitable<next_step> session::deliver_fault(const behaviour& b, const wire::head_fields& f,
                                                  bool head_only) {
  stats_.on_fault();
  error_code ec;
  switch (b.fail) {
    case fault::none:
    case fault::hang:
      break;
    case fault::reset:
      c_.socket.set_option(asio::socket_base::linger(true, 0), ec);
      break;
    case fault::close:
      c_.socket.shutdown(tcp::socket::shutdown_both, ec);
      break;
    case fault::garbage: {
      static constexpr std::string_view kGarbage =
          "\x16\x03\x01 this is not HTTP \xff\xfe\x00\r\n\r\n";
      const std::array<asio::const_buffer, 1> bufs{asio::buffer(kGarbage)};
      co_await write(bufs);
      c_.socket.shutdown(tcp::socket::shutdown_both, ec);
      break;
    }
    case fault::truncate: {
      const std::uint64_t announced = b.bytes > 0 ? b.bytes : kTruncateDefaultBytes;
      wire::head_fields head = f;
      head.keep_alive = false;
      head.http10 = false;
      if (!b.chunked) head.content_length = announced;
      wire::build_head(c_.head, b.status, head);
      if (head_only || !wire::status_has_body(b.status)) {
        // The message ends with its head (HEAD, 204, 304): body bytes after it would be stray
        // bytes after a complete answer, which a client counts as a success. Cut the head instead.
        c_.out.assign({asio::buffer(c_.head.data(), c_.head.size() / 2)});
      } else {
        if (b.chunked) wire::append_chunk_header(c_.head, announced);
        c_.out.assign({asio::buffer(c_.head)});
        wire::append_body(c_.out, 0, announced / 2);
      }
      co_await write(c_.out);
      c_.socket.shutdown(tcp::socket::shutdown_both, ec);
      break;
    }
  }
  c_.socket.close(ec);
  co_return next_step::close;
}

asio::awaitable<error_code> session::write(std::span<const asio::const_buffer> bufs) {
  auto [ec, n] = co_await asio::async_write(c_.socket, bufs, kAwait);
  stats_.on_sent(n);
  co_return ec;
}

asio::awaitable<next_step> session::send_simple(int status, std::string_view body, framing f,
                                                std::string_view content_type,
                                                std::string_view extra) {
  wire::build_head(c_.head, status,
                   {.content_type = content_type,
                    .content_length = body.size(),
                    .keep_alive = f.keep_alive,
                    .http10 = f.http10,
                    .extra = extra});
  std::array<asio::const_buffer, 2> bufs{asio::buffer(c_.head),
                                         asio::buffer(body.data(), f.head_only ? 0 : body.size())};
  const auto ec = co_await write(bufs);
  co_return (ec || !f.keep_alive) ? next_step::close : next_step::keep_going;
}

asio::awaitable<next_step> session::reject_request(int status, std::string message, framing f,
                                                   std::string_view extra) {
  stats_.on_bad_request();
  stats_.on_response(status);
  message += '\n';
  co_return co_await send_simple(status, message, f, "text/plain", extra);
}

asio::awaitable<void> session::linger_close() {
  // Closing with unread input makes the kernel send RST, which can destroy the error answer
  // before the client reads it. Half-close, then drain what the client still sends, briefly.
  error_code ec;
  c_.socket.shutdown(tcp::socket::shutdown_send, ec);
  asio::steady_timer timer(c_.socket.get_executor(), kLingerTime);
  std::array<char, 4096> scratch{};
  for (;;) {
    auto r = co_await (timer.async_wait(kAwait) ||
                       c_.socket.async_read_some(asio::buffer(scratch), kAwait));
    if (r.index() == 0) break;
    if (std::get<0>(std::get<1>(r))) break;
  }
  c_.socket.close(ec);
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket socket, loop& home, shared_state& shared) {
  session s(std::move(socket), home, shared);
  co_await s.run();
}

}  // namespace iobench::mock::detail
