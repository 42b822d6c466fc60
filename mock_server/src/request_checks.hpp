// Internal: what a request may be before the server answers it: the size limits, and the checks
// on its framing that Beast's parser does not make (session.cpp reads requests with them).
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace iobench::mock::detail {

inline constexpr std::uint32_t kMaxHeaderBytes = 16 * 1024;  // request line + headers, else 431
inline constexpr std::uint64_t kMaxBodyBytes = 1 << 20;      // request body, else 413
// Chunk lines (size and extensions) of one request, else 413: extensions are part of the body's
// framing, and the server ignores them. 16 KiB, as Node.js allows since CVE-2024-22019.
inline constexpr std::size_t kMaxChunkExtBytes = 16 * 1024;
inline constexpr std::size_t kMaxTrailerBytes =
    kMaxHeaderBytes;  // last chunk + trailer fields, else 431

/// Why no request came out of a read: status 0 when the client has gone (nothing to answer),
/// otherwise the error answer to send before closing.
struct read_failure {
  int status = 0;
  std::string message;
};

/// Counts the chunk-extension bytes of complete chunk lines; the parser calls it on each one.
struct chunk_ext_counter {
  std::size_t bytes = 0;
  void operator()(std::uint64_t /*size*/, boost::beast::string_view ext,
                  boost::system::error_code& ec) {
    bytes += ext.size();
    if (bytes > kMaxChunkExtBytes) ec = boost::beast::http::error::bad_chunk_extension;  // 413
  }
};

/// The answer to chunk extensions over kMaxChunkExtBytes.
read_failure chunk_ext_over_limit();

/// The answer to a request head over kMaxHeaderBytes.
read_failure head_over_limit();

/// A bare LF among the bytes of chunked framing the parser waits on (`pending`: a chunk-size line,
/// or the last chunk and its trailer section, each starting at a line): those lines end in CRLF
/// (RFC 9112 7.1), and a parser that waited past a bare LF would wait for ever. The answer (400),
/// or nullopt when every LF in `pending` ends a CRLF.
std::optional<read_failure> check_line_ends(std::string_view pending);

/// What Beast's parser reported, as the answer to the client.
read_failure parse_failure(const boost::system::error_code& ec);

/// A request head whose body length is ambiguous or whose transfer coding the server does not
/// understand, as the answer (400 or 501, then close); nullopt when its framing is fine.
std::optional<read_failure> check_framing(const boost::beast::http::request_header<>& h);

}  // namespace iobench::mock::detail
