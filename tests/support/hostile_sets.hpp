// Generated hostile answers, each with the one verdict fetcher.hpp's table gives it, for the
// hostile server to serve (`/case?n=<index>`) and every model to be held to:
// - cuts: every prefix of a few valid responses (a plain one, one after an interim 1xx, a chunked
//   one, bodiless 204 and 304, a 404), each ended by a close (FIN) and by a reset (RST). Before
//   the final status line is complete it is the connection that failed (reset); after it, the
//   response was cut short (bad_response); the whole response is a response.
// - framing: complete responses whose head or body framing RFC 9112 allows (a response) or
//   rejects (bad_response): Content-Length, Transfer-Encoding, field lines, chunk lines,
//   chunk extensions, trailers. Each is followed by a close, so a model that waits for more
//   than the framing says still ends.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"

namespace iobench::test {

/// How a generated case leaves its connection once its bytes are sent.
enum class case_end {
  fin,  ///< close (FIN)
  rst,  ///< reset (RST)
};

/// One generated answer and its verdict.
struct hostile_case {
  std::string name;   ///< "cut/interim/57/fin", "framing/chunk-size-0x", ...
  std::string bytes;  ///< what the server sends
  case_end end = case_end::fin;
  ErrorKind error = ErrorKind::none;  ///< the one kind every model must report
  int status = 0;                     ///< error == none: the status
  std::size_t body = 0;               ///< error == none: the body bytes
};

/// Every generated case, in a fixed order (the index is the `n` of `/case?n=`).
const std::vector<hostile_case>& hostile_cases();

}  // namespace iobench::test
