#include "request_checks.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <vector>

namespace iobench::mock::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// A client's bytes in a one-line answer: quoted, printable, at most 64 of them.
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (const char c : v.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out + (v.size() > 64 ? "...'" : "'");
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

read_failure chunk_ext_over_limit() {
  return {413, "request chunk extensions over " + std::to_string(kMaxChunkExtBytes) + " bytes"};
}

read_failure head_over_limit() {
  return {431, "request headers over " + std::to_string(kMaxHeaderBytes) + " bytes"};
}

std::optional<read_failure> check_line_ends(std::string_view pending) {
  for (auto lf = pending.find('\n'); lf != std::string_view::npos;
       lf = pending.find('\n', lf + 1)) {
    if (lf == 0 || pending[lf - 1] != '\r') {
      return read_failure{400,
                          "malformed request: a bare LF ends a line of the chunked body's "
                          "framing; its lines end with CRLF"};
    }
  }
  return std::nullopt;
}

read_failure parse_failure(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return head_over_limit();
  if (ec == http::error::body_limit) {
    return {413, "request body over " + std::to_string(kMaxBodyBytes) + " bytes"};
  }
  return {400, "malformed request: " + ec.message()};
}

// A request's body length must be unambiguous (RFC 9112 6.1, 6.3), or a proxy in front of the
// server and the server could disagree on where it ends, and a body could be served as a second
// request. Beast itself rejects "chunked" twice in separate fields and Content-Length beside a
// chunked Transfer-Encoding; it treats any other coding as "no body". The server understands one
// coding, a single final chunked:
// - 400 when the length cannot be determined: no final chunked (RFC 9112 6.3 says MUST 400),
//   chunked twice (a sender MUST NOT, 7), an empty list, Content-Length beside it
//   (6.3: ought to be handled as an error), or any Transfer-Encoding in HTTP/1.0 (6.1: faulty
//   framing);
// - 501 when the length is clear but another coding is applied under chunked ("gzip, chunked"):
//   RFC 9112 6.1 names 501 for a transfer coding the server does not understand.
// Either way the connection closes, since whatever follows the head cannot be trusted.
std::optional<read_failure> check_framing(const http::request_header<>& h) {
  const auto [first, last] = h.equal_range(http::field::transfer_encoding);
  if (first == last) return std::nullopt;
  if (h.version() < 11) {
    return read_failure{400, "Transfer-Encoding: not allowed in an HTTP/1.0 request"};
  }
  if (h.count(http::field::content_length) > 0) {
    return read_failure{400,
                        "Content-Length and Transfer-Encoding together: the body length is "
                        "ambiguous; send one of them"};
  }
  std::vector<std::string_view> codings;
  for (auto it = first; it != last; ++it) {
    std::string_view list = it->value();
    for (;;) {
      const auto comma = list.find(',');
      const auto item = trim_ows(list.substr(0, comma));
      if (!item.empty()) codings.push_back(item);  // RFC 9110 5.6.1: empty elements are ignored
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  const auto is_chunked = [](std::string_view c) { return beast::iequals(c, "chunked"); };
  const auto chunked = std::count_if(codings.begin(), codings.end(), is_chunked);
  const auto refuse = [](int status, std::string why) {
    return read_failure{
        status, "Transfer-Encoding: " + why + "; accepted: chunked, once, as the only coding"};
  };
  if (codings.empty()) return refuse(400, "empty");
  if (chunked > 1) return refuse(400, "chunked given twice");
  if (!is_chunked(codings.back())) {
    return refuse(400,
                  quoted(codings.back()) + " is the last coding, so the body length is unknown");
  }
  if (codings.size() > 1) return refuse(501, quoted(codings.front()) + " is not implemented");
  return std::nullopt;
}

}  // namespace iobench::mock::detail
