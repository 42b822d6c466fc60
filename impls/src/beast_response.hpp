// Internal: one HTTP response read with Beast's parser, for every model whose HTTP code is
// Beast's (coroutine, coroutine_mt, beast_sync, beast_pool). It does no I/O: the caller reads
// into the buffer (by co_await, or by a blocking read) whenever parse() asks for more, so the
// models differ in how they wait, not in how they read a response.
//
// Hostile responses (fetcher.hpp's table): the bytes are handed to Beast's parser by hand, so
// that every status line is judged by status_line.hpp before Beast consumes it (Beast takes
// "000", and waits for more where libcurl rejects bytes that cannot start a response), what Beast
// consumes is judged by response_framing.hpp too (Beast takes "Transfer-Encoding: gzip", chunked
// twice, a 17-digit chunk size), interim 1xx responses are skipped, header bytes are counted as
// they are consumed, and the read buffer has a hard size: Beast needs a whole chunk-size line, or
// the whole trailer section, in the buffer at once, so capping the buffer caps both, where an
// unbounded buffer grew to gigabytes on a chunk extension that never ends.
#pragma once

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string_view>

#include "common/counting_body.hpp"
#include "impls/fetcher.hpp"
#include "response_framing.hpp"

namespace iobench::detail {

/// Bytes a Beast model asks for per read.
inline constexpr std::size_t kBeastReadBuffer = 64 * 1024;
/// The most a Beast model's read buffer may hold: what a header section, a chunk-size line or a
/// trailer section may take (each must fit whole for Beast to parse it).
inline constexpr std::size_t kBeastBufferLimit =
    std::max({kBeastReadBuffer, kMaxHeaderBytes, kMaxChunkLineBytes, kMaxTrailerBytes});

/// A read buffer for a Beast connection. Beast sizes each read from the buffer's free capacity
/// (at least 512 bytes), and a buffer that starts small never grows: a 64 KiB body would take 128
/// reads. So it starts big, and never holds more than kBeastBufferLimit.
inline boost::beast::flat_buffer beast_read_buffer() {
  boost::beast::flat_buffer buffer(kBeastBufferLimit);
  buffer.reserve(kBeastReadBuffer);
  return buffer;
}

/// One response to one request: its interim heads, then the final one and its body.
class beast_response {
 public:
  /// Starts a response, forgetting the last one.
  void start();

  /// Parses what `buffer` holds, consuming what belongs to the response, into `out` (body bytes
  /// so far; the status once complete). Returns how the response ended (none: complete), or
  /// nullopt when it needs more bytes: the caller then reads at most room(buffer) more into
  /// `buffer` and calls parse() again, or read_ended() when the read brought nothing.
  std::optional<ErrorKind> parse(boost::beast::flat_buffer& buffer, Clock::time_point deadline,
                                 Outcome& out);
  /// How many bytes the next read may add (> 0 after parse() returned nullopt).
  [[nodiscard]] std::size_t room(const boost::beast::flat_buffer& buffer) const {
    return std::min(kBeastReadBuffer, kBeastBufferLimit - buffer.size());
  }
  /// A read failed with `ec` (asio::error::eof when the peer closed, beast::error::timeout when
  /// the deadline passed) after parse() had taken everything: how the response ended. The close
  /// completes a body it delimits.
  ErrorKind read_ended(const boost::system::error_code& ec, Outcome& out);

  /// Whether any byte of a response arrived (a reused connection is retried only before one).
  [[nodiscard]] bool got_bytes() const { return got_bytes_; }
  /// Whether the connection may carry the next request: the final head allows it and the
  /// response did not end with the close.
  [[nodiscard]] bool keep_alive() const;

 private:
  using parser_type = boost::beast::http::response_parser<counting_body>;
  void next_head();
  ErrorKind over_limit(Outcome& out) const;

  std::optional<parser_type> parser_;  // the head being read (a new one per interim response)
  response_framing framing_;           // judges what Beast consumes (kept: it reuses its buffer)
  std::size_t header_bytes_ = 0;       // header sections so far, interim responses' included
  bool final_status_ = false;          // a final response's status line has arrived
  bool line_judged_ = false;           // the current head's status line has been judged
  bool got_bytes_ = false;
  bool closed_ = false;  // the body ended with the close
};

}  // namespace iobench::detail
