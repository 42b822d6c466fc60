// The bytes the mock server writes, as pure functions: response heads, chunk framing, the Date and
// Server-Timing headers, and body content. Responses are written by hand rather than through
// Beast's serializer because the hot path at zero delay is one read and one write: a head built
// into a reused string and body slices of one static block, gathered into a single write.
#pragma once

#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iobench::mock::wire {

/// Body content is a printable pattern of this many bytes, repeated: byte i depends on i alone,
/// so any slice of any body is a slice of one static block.
inline constexpr std::size_t kPatternPeriod = 64;

/// The byte at `offset` of every body.
char body_byte(std::uint64_t offset);

/// Appends buffers that hold body bytes [offset, offset + len); they point into static storage.
void append_body(std::vector<boost::asio::const_buffer>& out, std::uint64_t offset,
                 std::uint64_t len);

/// The reason phrase for `status`: Beast's, or "Unknown" for a code Beast does not name.
std::string_view reason(int status);

/// An HTTP date (IMF-fixdate, RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::time_t t);

/// The Date header's value for now. NOTE: formatted at most once a second per thread.
std::string_view http_date();

/// False for 204 and 304, which never carry a body and so announce none (RFC 9110 6.4.1).
constexpr bool status_has_body(int status) { return status != 204 && status != 304; }

/// What goes into a response head besides the status.
struct head_fields {
  std::string_view content_type = "text/plain";
  std::optional<std::uint64_t> content_length;  ///< nullopt: chunked
  bool keep_alive = true;
  bool http10 = false;                ///< an HTTP/1.0 client must be told keep-alive explicitly
  std::chrono::nanoseconds delay{0};  ///< Server-Timing: the sampled delay
  std::chrono::nanoseconds late{0};   ///< Server-Timing: how late the delay's timer fired
  std::string_view extra;             ///< whole header lines, each ending in \r\n
};

/// Replaces `out` with the status line and headers of a response, blank line included.
void build_head(std::string& out, int status, const head_fields& f);

/// Appends the size line that opens a chunk of `size` bytes ("1f4\r\n").
void append_chunk_header(std::string& out, std::uint64_t size);

/// What follows each chunk's data.
inline constexpr std::string_view kChunkEnd = "\r\n";
/// The last chunk, which ends a chunked body (no trailers).
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace iobench::mock::wire
