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
//
// With TLS the same code runs over an ssl::stream wrapped around the connection's socket: the
// handshake first, then every read and write through it. The socket itself is still what is
// waited on for readability, shut down and closed (a fault is a fault of the connection, whatever
// runs on it); TLS records already received but not yet asked for simply wait for the next read.
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "session_impl.hpp"

namespace iobench::mock::detail {
namespace {

using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

constexpr std::size_t kMaxPipelineBytes = 64 * 1024;  // buffered while a delay runs
constexpr auto kLingerTime = 1s;                      // drain input after an error answer

}  // namespace

asio::awaitable<std::tuple<error_code, std::size_t>> session::read_some(asio::mutable_buffer b) {
  if (tls_) co_return co_await tls_->async_read_some(b, kAwait);
  co_return co_await c_.socket.async_read_some(b, kAwait);
}

std::size_t session::read_now(asio::mutable_buffer b, error_code& ec) {
  return tls_ ? tls_->read_some(b, ec) : c_.socket.read_some(b, ec);
}

asio::awaitable<bool> session::handshake() {
  // Waiting for a handshake is waiting for a request: the idle sweeper closes a client that
  // never finishes one.
  c_.idle = true;
  c_.since = steady::now();
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kAwait);
  if (ec) {
    stats_.on_tls_failure();
    co_return false;
  }
  stats_.on_tls_handshake(SSL_session_reused(tls_->native_handle()) == 1);
  co_return true;
}

void session::end_tls() {
  // close_notify, best effort: the socket is non-blocking, so this sends it and does not wait
  // for the client's.
  if (!tls_) return;
  error_code ec;
  tls_->shutdown(ec);
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
    auto [ec, n] = co_await read_some(buf_.prepare(kReadChunk));
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
    const std::size_t n = read_now(buf_.prepare(kReadChunk), ec);
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
    read_now(asio::buffer(scratch), rec);
    if (rec && rec != asio::error::would_block && rec != asio::error::try_again) co_return;
  }
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

}  // namespace iobench::mock::detail
