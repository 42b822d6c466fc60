// Why the server looks like this:
// - One io_context per thread, each run by exactly one thread (concurrency hint 1: no locking in
//   the scheduler). The acceptor lives on loop 0 and deals connections out round-robin, so a
//   connection and all its timers stay on one thread for its whole life.
// - Each connection is one coroutine that reads a request, serves it, and loops: pipelined
//   requests are therefore answered in order without any bookkeeping.
// - A delay is a steady_timer raced against "the socket became readable" (awaitable operator ||).
//   Waiting for readability consumes nothing, so losing that race never loses pipelined bytes;
//   when it wins we read what is there: bytes are kept for the next request, EOF means the client
//   left and the request is counted as cancelled.
// - Responses are written by hand (status line, a few headers, body slices of one static block)
//   rather than through Beast's serializer: the hot path at zero delay is one read and one write.
#include "mock_server/server.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "mock_server/units.hpp"

namespace iobench::mock {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;     // request line + headers, else 431
constexpr std::uint64_t kMaxBodyBytes = 1 << 20;         // request body, else 413
constexpr std::chrono::nanoseconds kMaxSweepCycle = 1s;  // every connection checked this often
constexpr std::size_t kSweepSlices = 100;                // the cycle is done in slices, see sweep()
constexpr std::size_t kMaxPipelineBytes = 64 * 1024;     // buffered while a delay runs
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kBodyBlock = 64 * 1024;  // static body content, see body_block()
constexpr std::size_t kPatternPeriod = 64;
constexpr std::uint64_t kDripPieces = 16;
constexpr auto kLingerTime = 1s;       // drain input after an error answer
constexpr auto kForceCloseWait = 2s;   // after the grace, for sockets to close
constexpr int kListenBacklog = 65535;  // the kernel caps it at somaxconn
constexpr auto kAcceptRetry = 50ms;    // after EMFILE and friends

// Deterministic body content: a printable 64-byte pattern repeated, so that body[i] depends on i
// alone and any slice of the body can be served from one static block.
const std::array<char, kBodyBlock>& body_block() {
  static const auto block = [] {
    constexpr std::string_view kPattern =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n";
    static_assert(kPattern.size() == kPatternPeriod && kBodyBlock % kPatternPeriod == 0);
    std::array<char, kBodyBlock> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = kPattern[i % kPatternPeriod];
    return b;
  }();
  return block;
}

// Appends the buffers holding body bytes [offset, offset + len).
void append_body(std::vector<asio::const_buffer>& out, std::uint64_t offset, std::uint64_t len) {
  const auto& block = body_block();
  while (len > 0) {
    const std::size_t start = offset % kPatternPeriod;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, kBodyBlock - start));
    out.emplace_back(block.data() + start, n);
    offset += n;
    len -= n;
  }
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

// The Date header, formatted at most once a second per thread.
std::string_view http_date() {
  thread_local std::time_t cached = 0;
  thread_local std::array<char, 40> text{};
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = now;
  }
  return {text.data(), len};
}

void append_number(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

void append_ms(std::string& out, std::chrono::nanoseconds d) {
  std::array<char, 32> buf{};
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), to_ms(d), std::chars_format::fixed, 3);
  out.append(buf.data(), end);
}

// What goes into a response head besides the status.
struct head_fields {
  std::string_view content_type = "text/plain";
  std::optional<std::uint64_t> content_length;  // nullopt: chunked
  bool keep_alive = true;
  bool http10 = false;
  std::chrono::nanoseconds delay{0};
  std::chrono::nanoseconds late{0};
  std::string_view extra;  // whole header lines, each ending in \r\n
};

void build_head(std::string& out, int status, const head_fields& f) {
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason(status);
  out += "\r\nServer: iobench-mock\r\nDate: ";
  out += http_date();
  out += "\r\nContent-Type: ";
  out += f.content_type;
  // 204 and 304 never carry a body, so they must not announce one either (RFC 9110 8.6).
  const bool framed = status != 204 && status != 304;
  if (framed && f.content_length) {
    out += "\r\nContent-Length: ";
    append_number(out, *f.content_length);
  } else if (framed) {
    out += "\r\nTransfer-Encoding: chunked";
  }
  out += "\r\nServer-Timing: delay;dur=";
  append_ms(out, f.delay);
  out += ", late;dur=";
  append_ms(out, f.late);
  if (!f.keep_alive) {
    out += "\r\nConnection: close";
  } else if (f.http10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n";
  out += f.extra;
  out += "\r\n";
}

void append_chunk_header(std::string& out, std::uint64_t size) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), size, 16);
  out.append(buf.data(), end);
  out += "\r\n";
}

// Errors that mean the client is gone (or we closed the socket): nothing to answer.
bool client_gone(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected;
}

struct loop;

// One accepted connection; lives in its coroutine's frame and is listed in its loop so that
// shutdown and the idle sweeper can reach it. Touched only on its loop's thread.
struct connection {
  connection(tcp::socket s, loop& l) : socket(std::move(s)), home(l) {}
  tcp::socket socket;
  loop& home;
  bool idle = true;         // waiting for a request: may be closed at shutdown
  clock::time_point since;  // when the current wait for a request began
  std::list<connection*>::iterator self;
  std::string head;                     // reused response head
  std::vector<asio::const_buffer> out;  // reused gather list
};

// One event loop and its thread's state. Member order matters: the io_context is destroyed first,
// destroying any suspended coroutine frames while the list they unlink from still exists.
struct loop {
  explicit loop(std::uint64_t seed) : rng(seed) {}
  std::list<connection*> connections;
  std::mt19937_64 rng;
  asio::io_context ctx{1};
  asio::steady_timer sweeper{ctx};
  std::list<connection*>::iterator sweep_cursor = connections.end();
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      ctx.get_executor()};
};

enum class next_step { keep_going, close };

}  // namespace

struct server::impl {
  explicit impl(server_config c);

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject(tcp::socket s);
  asio::awaitable<void> sweep(loop& l);
  asio::awaitable<void> session(tcp::socket s, loop& l);
  asio::awaitable<next_step> serve(connection& c, beast::flat_buffer& buf,
                                   http::request<http::string_body>& req);
  asio::awaitable<next_step> serve_behaviour(connection& c, beast::flat_buffer& buf,
                                             const behaviour& b, bool head_only, bool keep_alive,
                                             bool http10);
  asio::awaitable<bool> wait_delay(connection& c, beast::flat_buffer& buf,
                                   clock::time_point deadline);
  asio::awaitable<void> wait_until_gone(connection& c);
  asio::awaitable<void> linger_close(connection& c);
  asio::awaitable<error_code> write(connection& c, std::span<const asio::const_buffer> bufs);
  asio::awaitable<next_step> send_simple(connection& c, int status, std::string_view body,
                                         bool keep_alive, bool http10,
                                         std::string_view content_type = "text/plain",
                                         std::string_view extra = {}, bool head_only = false);

  asio::awaitable<next_step> reject_request(connection& c, int status, std::string message,
                                            bool keep_alive, bool http10,
                                            std::string_view extra = {});

  static void on_spawn_done(std::exception_ptr e);

  server_config cfg;
  server_stats stats;
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<loop>> loops;  // after stats: coroutines touch stats as they unwind
  tcp::acceptor acceptor;
  tcp::endpoint bound;
  std::vector<std::thread> threads;
  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;
};

namespace {

std::vector<std::unique_ptr<loop>> make_loops(const server_config& cfg) {
  if (cfg.threads == 0) throw std::invalid_argument("threads must be at least 1");
  std::vector<std::unique_ptr<loop>> loops;
  for (unsigned i = 0; i < cfg.threads; ++i) {
    // Distinct, reproducible streams per thread for requests that carry no seed of their own.
    loops.push_back(std::make_unique<loop>(cfg.seed * 0x9E3779B97F4A7C15ULL + i));
  }
  return loops;
}

}  // namespace

server::impl::impl(server_config c)
    : cfg(std::move(c)), loops(make_loops(cfg)), acceptor(loops.front()->ctx) {
  if (auto err = validate(cfg.defaults, cfg.lim)) throw std::invalid_argument(*err);
  if (cfg.idle_timeout < 1ms) throw std::invalid_argument("idle timeout must be at least 1ms");
  const auto address = asio::ip::make_address(cfg.bind);
  const tcp::endpoint ep(address, cfg.port);
  acceptor.open(ep.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(kListenBacklog);
  bound = acceptor.local_endpoint();
}

void server::impl::on_spawn_done(std::exception_ptr e) {
  // A coroutine that throws has a bug in it; say so rather than let it vanish.
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "mock_server: internal error in a connection: %s\n", ex.what());
  }
}

asio::awaitable<void> server::impl::accept_loop() {
  std::size_t next = 0;
  while (!stopping.load(std::memory_order_relaxed)) {
    loop& target = *loops[next];
    next = (next + 1) % loops.size();
    auto [ec, sock] = co_await acceptor.async_accept(target.ctx, kAwait);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or buffers: back off instead of spinning; established clients go on.
      asio::steady_timer pause(acceptor.get_executor(), kAcceptRetry);
      co_await pause.async_wait(kAwait);
      continue;
    }
    if (stats.connections_open() >= static_cast<std::int64_t>(cfg.max_connections)) {
      stats.on_reject();
      asio::co_spawn(target.ctx, reject(std::move(sock)), on_spawn_done);
      continue;
    }
    stats.on_accept();
    asio::co_spawn(target.ctx, session(std::move(sock), target), on_spawn_done);
  }
}

asio::awaitable<void> server::impl::reject(tcp::socket s) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
      "Content-Length: 41\r\n\r\nmax-connections reached; try again later\n";
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(kBusy), kAwait);
  stats.on_sent(n);
  error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

asio::awaitable<void> server::impl::sweep(loop& l) {
  // Walking 10,000 connections at once is milliseconds of cache misses, which would show up as
  // timer lateness for whoever is due meanwhile; so each tick checks one slice of the list and
  // a whole cycle still visits every connection.
  const auto cycle = std::min(kMaxSweepCycle, cfg.idle_timeout / 2);
  const auto tick = cycle / kSweepSlices;
  // stop() cancels the timer, but a wait that has already completed cannot be cancelled: the
  // flag is what ends the loop, or it would re-arm and keep the event loop alive forever.
  while (!stopping.load(std::memory_order_relaxed)) {
    l.sweeper.expires_after(tick);
    auto [ec] = co_await l.sweeper.async_wait(kAwait);
    if (ec || stopping.load(std::memory_order_relaxed)) co_return;
    const auto cutoff = clock::now() - cfg.idle_timeout;
    std::size_t budget = l.connections.size() / kSweepSlices + 1;
    while (budget-- > 0 && !l.connections.empty()) {
      if (l.sweep_cursor == l.connections.end()) l.sweep_cursor = l.connections.begin();
      connection* c = *l.sweep_cursor++;
      error_code ignored;
      if (c->idle && c->since < cutoff) c->socket.close(ignored);
    }
  }
}

asio::awaitable<error_code> server::impl::write(connection& c,
                                                std::span<const asio::const_buffer> bufs) {
  auto [ec, n] = co_await asio::async_write(c.socket, bufs, kAwait);
  stats.on_sent(n);
  co_return ec;
}

asio::awaitable<next_step> server::impl::send_simple(connection& c, int status,
                                                     std::string_view body, bool keep_alive,
                                                     bool http10, std::string_view content_type,
                                                     std::string_view extra, bool head_only) {
  build_head(c.head, status,
             {.content_type = content_type,
              .content_length = body.size(),
              .keep_alive = keep_alive,
              .http10 = http10,
              .extra = extra});
  std::array<asio::const_buffer, 2> bufs{asio::buffer(c.head),
                                         asio::buffer(body.data(), head_only ? 0 : body.size())};
  const auto ec = co_await write(c, bufs);
  co_return (ec || !keep_alive) ? next_step::close : next_step::keep_going;
}

asio::awaitable<next_step> server::impl::reject_request(connection& c, int status,
                                                        std::string message, bool keep_alive,
                                                        bool http10, std::string_view extra) {
  stats.on_bad_request();
  stats.on_response(status);
  message += '\n';
  co_return co_await send_simple(c, status, message, keep_alive, http10, "text/plain", extra);
}

asio::awaitable<void> server::impl::linger_close(connection& c) {
  // Closing with unread input makes the kernel send RST, which can destroy the error answer
  // before the client reads it. Half-close, then drain what the client still sends, briefly.
  error_code ec;
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  asio::steady_timer timer(c.socket.get_executor(), kLingerTime);
  std::array<char, 4096> scratch{};
  for (;;) {
    auto r = co_await (timer.async_wait(kAwait) ||
                       c.socket.async_read_some(asio::buffer(scratch), kAwait));
    if (r.index() == 0) break;
    if (std::get<0>(std::get<1>(r))) break;
  }
  c.socket.close(ec);
}

asio::awaitable<void> server::impl::session(tcp::socket s, loop& l) {
  connection c(std::move(s), l);
  l.connections.push_front(&c);
  c.self = l.connections.begin();
  struct unlist {
    connection& c;
    server_stats& stats;
    ~unlist() {
      if (c.home.sweep_cursor == c.self) ++c.home.sweep_cursor;
      c.home.connections.erase(c.self);
      stats.on_close();
    }
  } guard{c, stats};

  error_code ec;
  c.socket.set_option(tcp::no_delay(true), ec);
  c.socket.non_blocking(true, ec);
  beast::flat_buffer buf;
  for (;;) {
    if (stopping.load(std::memory_order_relaxed)) break;
    c.idle = true;
    c.since = clock::now();
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    auto [read_ec, n] = co_await http::async_read(c.socket, buf, parser, kAwait);
    c.idle = false;
    if (read_ec) {
      if (client_gone(read_ec)) break;
      stats.on_bad_request();
      int status = 400;
      std::string body = "malformed request: " + read_ec.message() + "\n";
      if (read_ec == http::error::header_limit) {
        status = 431;
        body = "request headers over " + std::to_string(kMaxHeaderBytes) + " bytes\n";
      } else if (read_ec == http::error::body_limit) {
        status = 413;
        body = "request body over " + std::to_string(kMaxBodyBytes) + " bytes\n";
      }
      stats.on_response(status);
      co_await send_simple(c, status, body, false, false);
      co_await linger_close(c);
      co_return;
    }
    if (co_await serve(c, buf, parser.get()) == next_step::close) break;
  }
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  c.socket.close(ec);
}

asio::awaitable<next_step> server::impl::serve(connection& c, beast::flat_buffer& buf,
                                               http::request<http::string_body>& req) {
  const bool keep_alive = req.keep_alive() && !stopping.load(std::memory_order_relaxed);
  const bool http10 = req.version() < 11;
  const auto method = req.method();
  const bool is_get = method == http::verb::get;
  const bool is_head = method == http::verb::head;
  const std::string_view target = req.target();
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  // Control endpoints: not counted as requests, so /stats describes the load alone.
  if (path == "/stats") {
    if (!is_get && !is_head) {
      co_return co_await send_simple(c, 405, "use GET /stats\n", keep_alive, http10, "text/plain",
                                     "Allow: GET, HEAD\r\n");
    }
    const std::string json = stats.snapshot().to_json() + "\n";
    co_return co_await send_simple(c, 200, json, keep_alive, http10, "application/json", {},
                                   is_head);
  }
  if (path == "/stats/reset") {
    if (method != http::verb::post) {
      co_return co_await send_simple(c, 405, "use POST /stats/reset\n", keep_alive, http10,
                                     "text/plain", "Allow: POST\r\n");
    }
    stats.reset();
    co_return co_await send_simple(c, 200, "reset\n", keep_alive, http10);
  }
  if (path == "/healthz") {
    if (!is_get && !is_head) {
      co_return co_await send_simple(c, 405, "use GET /healthz\n", keep_alive, http10, "text/plain",
                                     "Allow: GET, HEAD\r\n");
    }
    co_return co_await send_simple(c, 200, "ok", keep_alive, http10, "text/plain", {}, is_head);
  }

  stats.on_request();
  if (!is_get && !is_head) {
    co_return co_await reject_request(
        c, 405, "method " + std::string(req.method_string()) + " not allowed; accepted: GET, HEAD",
        keep_alive, http10, "Allow: GET, HEAD\r\n");
  }
  auto parsed = parse_behaviour(query, cfg.defaults, cfg.lim);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    co_return co_await reject_request(c, 400, *err, keep_alive, http10);
  }
  const auto& b = std::get<behaviour>(parsed);
  if (b.chunked && http10) {
    co_return co_await reject_request(c, 400, "chunked: needs HTTP/1.1; this request is HTTP/1.0",
                                      keep_alive, http10);
  }
  co_return co_await serve_behaviour(c, buf, b, is_head, keep_alive, http10);
}

asio::awaitable<bool> server::impl::wait_delay(connection& c, beast::flat_buffer& buf,
                                               clock::time_point deadline) {
  asio::steady_timer timer(c.socket.get_executor(), deadline);
  for (;;) {
    if (buf.size() >= kMaxPipelineBytes) {
      // Enough pipelined input is buffered; stop reading and just wait.
      co_await timer.async_wait(kAwait);
      co_return c.socket.is_open();
    }
    if (std::getenv("NO_RACE")) {
      co_await timer.async_wait(kAwait);
      co_return true;
    }
    auto r =
        co_await (timer.async_wait(kAwait) || c.socket.async_wait(tcp::socket::wait_read, kAwait));
    if (r.index() == 0) co_return c.socket.is_open();
    if (std::get<0>(std::get<1>(r))) co_return false;  // socket closed under us (shutdown)
    error_code ec;
    const std::size_t n = c.socket.read_some(buf.prepare(kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) co_return false;  // EOF or reset: the client has gone
    buf.commit(n);            // pipelined bytes: the next request
  }
}

asio::awaitable<void> server::impl::wait_until_gone(connection& c) {
  std::array<char, 4096> scratch{};
  for (;;) {
    auto [ec] = co_await c.socket.async_wait(tcp::socket::wait_read, kAwait);
    if (ec) co_return;
    error_code rec;
    c.socket.read_some(asio::buffer(scratch), rec);
    if (rec && rec != asio::error::would_block && rec != asio::error::try_again) co_return;
  }
}

asio::awaitable<next_step> server::impl::serve_behaviour(connection& c, beast::flat_buffer& buf,
                                                         const behaviour& b, bool head_only,
                                                         bool keep_alive, bool http10) {
  struct flight {
    server_stats& s;
    explicit flight(server_stats& st) : s(st) { s.begin_flight(); }
    ~flight() { s.end_flight(); }
  } in_flight{stats};

  if (b.fail == fault::hang) {
    stats.on_fault();
    co_await wait_until_gone(c);
    co_return next_step::close;
  }

  std::chrono::nanoseconds delay{0};
  if (b.seed) {
    std::mt19937_64 rng(*b.seed);
    delay = sample_delay(b, rng, cfg.lim.max_delay);
  } else {
    delay = sample_delay(b, c.home.rng, cfg.lim.max_delay);
  }
  delay += cfg.extra_delay;
  std::chrono::nanoseconds late{0};
  if (delay.count() > 0) {
    const auto deadline = clock::now() + delay;
    const bool present = co_await wait_delay(c, buf, deadline);
    if (!present) {
      stats.on_cancel();
      co_return next_step::close;
    }
    late = std::max(clock::now() - deadline, clock::duration::zero());
    stats.on_late(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(late).count()));
  }

  error_code ec;
  switch (b.fail) {
    case fault::none:
    case fault::hang:
      break;
    case fault::reset:
      stats.on_fault();
      c.socket.set_option(asio::socket_base::linger(true, 0), ec);
      c.socket.close(ec);
      co_return next_step::close;
    case fault::close:
      stats.on_fault();
      c.socket.shutdown(tcp::socket::shutdown_both, ec);
      c.socket.close(ec);
      co_return next_step::close;
    case fault::garbage: {
      stats.on_fault();
      static constexpr std::string_view kGarbage =
          "\x16\x03\x01 this is not HTTP \xff\xfe\x00\r\n\r\n";
      const std::array<asio::const_buffer, 1> bufs{asio::buffer(kGarbage)};
      co_await write(c, bufs);
      c.socket.shutdown(tcp::socket::shutdown_both, ec);
      c.socket.close(ec);
      co_return next_step::close;
    }
    case fault::truncate: {
      stats.on_fault();
      const std::uint64_t announced = b.bytes > 0 ? b.bytes : kTruncateDefaultBytes;
      const std::uint64_t half = announced / 2;
      head_fields f{.content_type = "application/octet-stream",
                    .keep_alive = false,
                    .delay = delay,
                    .late = late};
      if (!b.chunked) f.content_length = announced;
      build_head(c.head, b.status, f);
      if (b.chunked) append_chunk_header(c.head, announced);
      c.out.assign({asio::buffer(c.head)});
      if (!head_only) append_body(c.out, 0, half);
      co_await write(c, c.out);
      c.socket.shutdown(tcp::socket::shutdown_both, ec);
      c.socket.close(ec);
      co_return next_step::close;
    }
  }

  // A normal answer: head, then the body in one piece or dripped in up to kDripPieces pieces.
  // Keep-alive is decided now, not on arrival: a stop() during the delay must say "close".
  keep_alive = keep_alive && !stopping.load(std::memory_order_relaxed);
  const bool no_body = head_only || b.status == 204 || b.status == 304;
  head_fields f{.content_type = "application/octet-stream",
                .keep_alive = keep_alive,
                .http10 = http10,
                .delay = delay,
                .late = late};
  if (!b.chunked) f.content_length = b.bytes;
  build_head(c.head, b.status, f);
  stats.on_response(b.status);

  const bool dripping = b.drip.count() > 0 && !no_body && b.bytes > 0;
  const std::uint64_t pieces = dripping ? std::min(kDripPieces, b.bytes) : 1;
  const auto start = clock::now();
  std::string chunk_head;
  c.out.assign({asio::buffer(c.head)});
  if (dripping) {
    if (co_await write(c, c.out)) co_return next_step::close;  // the head goes out at once
    c.out.clear();
  }
  for (std::uint64_t i = 0; i < pieces; ++i) {
    // Between pieces, wait like a delay does: a client that leaves, or a stop() that closes the
    // socket, ends the wait instead of leaving a timer that keeps the event loop alive.
    if (dripping && !co_await wait_delay(c, buf,
                                         start + b.drip * static_cast<std::int64_t>(i + 1) /
                                                     static_cast<std::int64_t>(pieces))) {
      co_return next_step::close;
    }
    if (!no_body) {
      const std::uint64_t from = b.bytes * i / pieces;
      const std::uint64_t to = b.bytes * (i + 1) / pieces;
      if (b.chunked && to > from) {  // a zero-size chunk would end the body
        chunk_head.clear();
        append_chunk_header(chunk_head, to - from);
        c.out.emplace_back(asio::buffer(chunk_head));
      }
      append_body(c.out, from, to - from);
      if (b.chunked && to > from) c.out.emplace_back(asio::buffer("\r\n", 2));
      if (b.chunked && i + 1 == pieces) c.out.emplace_back(asio::buffer("0\r\n\r\n", 5));
    }
    if (!c.out.empty() && co_await write(c, c.out)) co_return next_step::close;
    c.out.clear();
  }
  co_return keep_alive ? next_step::keep_going : next_step::close;
}

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() { stop(std::chrono::nanoseconds{0}); }

void server::start() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->started) return;
  impl_->started = true;
  raise_open_file_limit();
  asio::co_spawn(impl_->loops.front()->ctx, impl_->accept_loop(), impl::on_spawn_done);
  for (auto& l : impl_->loops) {
    asio::co_spawn(l->ctx, impl_->sweep(*l), impl::on_spawn_done);
    impl_->threads.emplace_back([&ctx = l->ctx] {
      // The kernel may fire a thread's timers up to 50us late to batch wake-ups (timer slack);
      // a server whose job is exact delays asks for none.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      ctx.run();
    });
  }
}

void server::stop(std::chrono::nanoseconds grace) {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto& self = *impl_;
  self.stopping.store(true);
  if (!self.started) return;

  auto post_and_wait = [&](loop& l, auto fn) {
    std::promise<void> done;
    asio::post(l.ctx, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  post_and_wait(*self.loops.front(), [&] {
    error_code ec;
    self.acceptor.close(ec);
  });
  auto close_connections = [&](bool only_idle) {
    for (auto& l : self.loops) {
      post_and_wait(*l, [&] {
        for (connection* c : l->connections) {
          error_code ec;
          if (!only_idle || c->idle) c->socket.close(ec);
        }
      });
    }
  };
  auto wait_for_close = [&](std::chrono::nanoseconds limit) {
    const auto until = clock::now() + limit;
    while (self.stats.connections_open() > 0 && clock::now() < until) {
      std::this_thread::sleep_for(5ms);
    }
  };
  close_connections(true);
  wait_for_close(grace);
  close_connections(false);
  wait_for_close(kForceCloseWait);
  for (auto& l : self.loops) {
    post_and_wait(*l, [&] {
      l->sweeper.cancel();
      l->guard.reset();
    });
  }
  for (auto& t : self.threads) t.join();
  self.threads.clear();
}

std::uint16_t server::port() const { return impl_->bound.port(); }

std::string server::url() const {
  const auto addr = impl_->bound.address();
  const std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return "http://" + host + ":" + std::to_string(port());
}

stats_snapshot server::stats() const { return impl_->stats.snapshot(); }

std::uint64_t raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

}  // namespace iobench::mock
