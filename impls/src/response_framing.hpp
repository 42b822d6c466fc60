// Internal: the one judge of a response's syntax and framing, RFC 9112's grammar, for every
// model. Beast and libcurl each take things the other rejects (libcurl: a chunk size "0x5" read
// as a last chunk, a trailer line without a colon, a Content-Length of 40 digits, any field-name
// or control character; Beast: "Transfer-Encoding: gzip", a chunk size of 17 digits), so both
// are fed the same bytes through this stricter check, and one response gets one verdict whatever
// the model. What it holds a response to (fetcher.hpp's table says the same):
//
//   status line   HTTP/1.0|1.1 SP 3DIGIT SP reason CRLF (status_line.hpp); 1xx but 101 are
//                 interim heads, skipped, each judged like the final one
//   field line    token ":" OWS value OWS CRLF; the value of VCHAR, SP, HTAB and obs-text
//                 (no control character, no DEL, no bare CR); a line starting with SP or HTAB
//                 continues the one before it (obs-fold), but not right after the status line
//   head          ends with an empty line (CRLF); every head of a response, interim ones
//                 included, kMaxHeaderBytes in all
//   body length   204, 304: none. Transfer-Encoding: exactly one coding, chunked (this client
//                 decodes no other; RFC 9112 forbids chunked twice), in HTTP/1.1, without
//                 Content-Length. Content-Length: 1*DIGIT up to 2^63 - 1, repeated (in one field
//                 as a list, or in several) only with the same value. Otherwise to the close.
//   chunk line    1*HEXDIG (16 digits at most, libcurl's limit) then chunk-ext =
//                 *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ), CRLF; at
//                 most kMaxChunkLineBytes. Chunk data is followed by CRLF.
//   trailers      field lines, then CRLF; kMaxTrailerBytes in all
//
// Every line ends with CRLF: a bare LF is a bad line end, never a line end. The judge keeps
// nothing but the line it is reading (bounded by the limits above).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace iobench::detail {

/// One response (its interim heads, then the final one and its body), judged as its bytes come.
class response_framing {
 public:
  /// Forgets the last response; keeps the buffers' memory. NOTE: sets each member by hand (a
  /// response costs it a few nanoseconds): a new member needs a line there.
  void reset();

  /// Takes the response's next bytes, in order, each once. Returns how many belong to the
  /// response: all of them, unless it ends (done()) or breaks (bad()) within them; what follows
  /// is not judged.
  std::size_t feed(std::string_view bytes);

  /// The response broke a rule; violation() says which.
  [[nodiscard]] bool bad() const { return !violation_.empty(); }
  /// The response is complete (a body delimited by the close never is: the caller sees the close).
  [[nodiscard]] bool done() const { return state_ == state::done; }
  /// A final (non-1xx) response's status line has arrived complete: a failure from here on is
  /// the response's (bad_response), before it the connection's (reset).
  [[nodiscard]] bool final_status_seen() const { return final_; }
  /// The empty line that ends the final response's head has arrived.
  [[nodiscard]] bool head_done() const { return head_done_; }
  /// The head has ended and the body is delimited by the close: complete when the close comes.
  [[nodiscard]] bool to_the_close() const { return state_ == state::to_close; }
  /// Why the response is bad; empty when it is not.
  [[nodiscard]] const std::string& violation() const { return violation_; }
  /// The final response's body bytes so far, decoded: chunked framing and trailers excluded.
  [[nodiscard]] std::uint64_t body_bytes() const { return body_bytes_; }
  /// The status of the last status line judged (the final response's once head_done()).
  [[nodiscard]] int status() const { return status_; }
  /// Whether the final head lets its connection carry another request (RFC 9112 9.3): HTTP/1.1
  /// without "Connection: close", or HTTP/1.0 with "Connection: keep-alive". For the models that
  /// read the bytes themselves (the own event loops); Beast and libcurl decide it on their side.
  [[nodiscard]] bool keep_alive() const { return !conn_close_ && (!http10_ || conn_keep_alive_); }

 private:
  enum class state {
    status_line,  // the first line of a head
    fields,       // a head's field lines
    length,       // a body of length_left_ bytes
    to_close,     // a body that the close ends
    chunk_line,   // a chunk-size line
    chunk_data,   // chunk data, chunk_left_ bytes to go
    chunk_cr,     // the CR after chunk data
    chunk_lf,     // the LF after chunk data
    trailers,     // trailer field lines
    done,
  };
  // Which framing field the last field line was (an obs-fold continues its value).
  enum class field { other, content_length, transfer_encoding };

  std::size_t fail(std::string why);
  // Takes the bytes of a line up to and including its LF; false while the line goes on, or when
  // it breaks a rule: a bare LF, or more than `room` bytes (`what` is then over `limit`).
  bool take_line(std::string_view& bytes, std::size_t& used, std::size_t room, const char* what,
                 std::size_t limit);
  void on_status_line();
  void on_field_line(bool trailer);
  void commit_field();
  void on_connection_field(std::string_view value);
  void on_head_end();
  void on_chunk_line();

  state state_ = state::status_line;
  std::string violation_;
  std::string line_;          // a line split across feeds, as far as it has come
  std::string_view current_;  // the line just completed, CRLF included: in the bytes fed, or line_
  std::size_t header_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  bool final_ = false;      // the current head is a final response's
  bool head_done_ = false;  // the final head has ended
  bool http10_ = false;
  bool conn_close_ = false;       // the head's Connection field lists "close"
  bool conn_keep_alive_ = false;  // ... or "keep-alive"
  int status_ = 0;
  bool any_field_ = false;  // the current head (or trailer section) has had a field line
  field last_field_ = field::other;
  std::string framing_value_;  // the value of a Content-Length or Transfer-Encoding being read
  bool has_length_ = false;
  std::uint64_t length_ = 0;
  int codings_ = 0;       // transfer codings listed
  bool chunked_ = false;  // the one coding is chunked
  bool has_encoding_ = false;
  std::uint64_t length_left_ = 0;
  std::uint64_t chunk_left_ = 0;
  std::uint64_t body_bytes_ = 0;
};

}  // namespace iobench::detail
