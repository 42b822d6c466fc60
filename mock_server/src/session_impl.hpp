// Internal: the class behind run_session (session.hpp), whose work is split in two files:
// session.cpp serves a request (the endpoints, the behaviours, the faults, the writes) and
// session_read.cpp reads them (the request loop around Beast's parser, the bytes that arrive while
// a delay runs, TLS underneath).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "common/counting_body.hpp"
#include "mock_server/wire.hpp"
#include "request_checks.hpp"
#include "session.hpp"

namespace iobench::mock::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

inline constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
inline constexpr std::size_t kReadChunk = 16 * 1024;

enum class next_step { keep_going, close };

using request_parser = http::request_parser<counting_body>;

// How one response is framed on the wire, decided once per request.
struct framing {
  bool head_only = false;
  bool keep_alive = true;
  bool http10 = false;
};

/// One connection's coroutine state (run_session makes it on the coroutine frame).
class session {
 public:
  session(tcp::socket s, loop& home, shared_state& shared)
      : c_(std::move(s), home), shared_(shared), stats_(shared.stats) {
    home.connections.push_front(&c_);
    c_.self = home.connections.begin();
    if (shared.tls) tls_.emplace(c_.socket, *shared.tls);
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

  // Through TLS when the server has it, else on the socket.
  asio::awaitable<std::tuple<error_code, std::size_t>> read_some(asio::mutable_buffer b);
  std::size_t read_now(asio::mutable_buffer b, error_code& ec);  // non-blocking
  asio::awaitable<bool> handshake();
  void end_tls();

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
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;  // over c_.socket, with --tls
};

}  // namespace iobench::mock::detail
