// Internal: what libcurl does not check for itself, checked from its header and write callbacks,
// so that the libcurl models judge a response by fetcher.hpp's table as the coroutine model does.
//
// libcurl 7.88 (Debian's) skips 1xx responses, caps one header line at 100 KiB, a header section
// at 300 KiB and one trailer line at 64 KiB. It does not cap a chunk extension (it skips its
// bytes one by one, forever), nor a trailer section (each trailer is kept for curl_easy_header():
// memory grows without bound), and it takes status lines RFC 9112 does not (status_line.hpp). So
// the header callback judges each status line and counts header bytes, and with
// CURLOPT_HTTP_TRANSFER_DECODING off the write callback sees a chunked body as sent (libcurl
// still decodes it) and measures its chunk-size lines and trailers, which libcurl then no longer
// stores. The guard also counts the body's bytes, chunked framing excluded: libcurl's own count
// has the framing in it from 8.x on (8.14 in Debian 13) when it does not decode.
//
// A continuation line (starting with a space or a tab) with no field before it to continue is
// refused here: libcurl 7.88 refuses it, 8.x drops the leading blanks and takes it as a field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iobench::detail {

/// One transfer's checks. Not thread-safe: one per easy handle.
class response_guard {
 public:
  /// Forgets the last response. Call before each transfer.
  void reset();
  /// Takes one header line as libcurl hands it over (CRLF included). False: abort the transfer.
  bool on_header(std::string_view line);
  /// Takes body bytes as received (with their chunked framing). False: abort the transfer.
  bool on_body(std::string_view bytes);
  /// Whether a final response's status line arrived complete: a failure after it is the
  /// response's (bad_response), before it the connection's (reset).
  [[nodiscard]] bool started() const { return started_; }
  /// Why a callback aborted the transfer; empty when none did.
  [[nodiscard]] const std::string& violation() const { return violation_; }
  /// The final response's body bytes received so far, without chunked framing.
  [[nodiscard]] std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  bool fail(std::string why);
  void scan_chunked(std::string_view bytes);

  std::string violation_;
  std::size_t header_bytes_ = 0;  // every header section so far, interim ones included
  bool at_status_line_ = true;    // the next header line starts a response
  bool started_ = false;
  bool field_seen_ = false;  // a field line since the last status line
  bool chunked_ = false;
  std::uint64_t body_bytes_ = 0;
  std::optional<std::string> content_length_;

  // The chunked body as sent: where its framing is, and how big the parts a limit bounds are.
  enum class chunk_state { size_line, data, data_end, trailers, done };
  chunk_state chunk_ = chunk_state::size_line;
  std::uint64_t chunk_left_ = 0;   // data bytes left in this chunk
  std::size_t line_bytes_ = 0;     // bytes of the current chunk-size or trailer line
  int size_digits_ = 0;            // hex digits of the current chunk size (-1: past them)
  std::size_t trailer_bytes_ = 0;  // bytes of the trailer section
  bool blank_line_ = true;         // the current trailer line has nothing but CR so far
};

}  // namespace iobench::detail
