// Internal: the libcurl models' side of response_framing.hpp, fed from libcurl's header and write
// callbacks, so that they judge a response by fetcher.hpp's table as the coroutine models do.
//
// The header callback hands over each line of every head (interim ones included) as received;
// with CURLOPT_HTTP_TRANSFER_DECODING off the write callback hands over the body as sent, chunked
// framing and trailers included (libcurl still decodes the chunks to find the end and counts the
// decoded bytes; past the end of the chunked body it may hand over bytes that are not the
// response's, which the judge ignores). Between the two the judge sees the response as sent.
// What libcurl takes that RFC 9112 does not (a chunk size "0x5", a trailer without a colon, a
// Content-Length of 40 digits, a head cut short by the close, reported as a complete response)
// aborts the transfer from a callback, or is caught when it ends: complete() is false.
// The guard also gives the body's byte count, chunked framing excluded: libcurl's own count has
// the framing in it from 8.x on (8.14 in Debian 13) when it does not decode.
#pragma once

#include <string>
#include <string_view>

#include "response_framing.hpp"

namespace iobench::detail {

/// One transfer's judge. Not thread-safe: one per easy handle.
class response_guard {
 public:
  /// Forgets the last response. Call before each transfer.
  void reset() { framing_.reset(); }
  /// Takes one header line as libcurl hands it over (CRLF included). False: abort the transfer.
  bool on_header(std::string_view line);
  /// Takes body bytes as received (with their chunked framing). False: abort the transfer.
  bool on_body(std::string_view bytes);
  /// Whether a final response's status line arrived complete: a failure after it is the
  /// response's (bad_response), before it the connection's (reset).
  [[nodiscard]] bool started() const { return framing_.final_status_seen(); }
  /// Whether what arrived is a whole response: its head ended, and its body is complete or ends
  /// with the close.
  [[nodiscard]] bool complete() const { return framing_.done() || framing_.to_the_close(); }
  /// Why a callback aborted the transfer; empty when none did.
  [[nodiscard]] const std::string& violation() const { return framing_.violation(); }
  /// The final response's body bytes received so far, without chunked framing.
  [[nodiscard]] std::uint64_t body_bytes() const { return framing_.body_bytes(); }

 private:
  response_framing framing_;
};

}  // namespace iobench::detail
