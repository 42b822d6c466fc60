// One connection, one coroutine: it reads a request, serves it, and loops, so pipelined requests
// are answered in order without any bookkeeping.
//
// Reading (the request loop, the bytes that arrive during a delay, TLS) is session_read.cpp's.
#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>

#include "common/units.hpp"
#include "session_impl.hpp"

namespace iobench::mock::detail {
namespace {

constexpr std::uint64_t kDripPieces = 16;

// Sums of durations from a server_config a library user filled in (the command line bounds them
// to a day) must wait "forever" rather than wrap into the past: both arguments are >= 0.
std::chrono::nanoseconds saturating_add(std::chrono::nanoseconds a, std::chrono::nanoseconds b) {
  return b > std::chrono::nanoseconds::max() - a ? std::chrono::nanoseconds::max() : a + b;
}

steady::time_point deadline_after(std::chrono::nanoseconds d) {
  const auto now = steady::now();
  return d > steady::time_point::max() - now ? steady::time_point::max() : now + d;
}

}  // namespace

asio::awaitable<void> session::run() {
  error_code ec;
  c_.socket.set_option(tcp::no_delay(true), ec);
  c_.socket.non_blocking(true, ec);
  if (tls_ && !co_await handshake()) {
    c_.socket.close(ec);
    co_return;
  }
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
  end_tls();
  c_.socket.shutdown(tcp::socket::shutdown_send, ec);
  c_.socket.close(ec);
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
  auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, bufs, kAwait)
                      : co_await asio::async_write(c_.socket, bufs, kAwait);
  stats_.on_sent(n);  // HTTP bytes, before TLS
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

asio::awaitable<void> run_session(tcp::socket socket, loop& home, shared_state& shared) {
  session s(std::move(socket), home, shared);
  co_await s.run();
}

}  // namespace iobench::mock::detail
