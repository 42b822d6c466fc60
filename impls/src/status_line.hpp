// Internal: the one judge of a response's status line, for every model. Beast and libcurl each
// parse status lines their own way (libcurl takes "HTTP/1.1 200" without its SP, "http/1.1 x" as
// a 200, and "HTTP/2.0" over HTTP/1.1; Beast takes "000"), so both are held to this stricter
// check, RFC 9112's grammar, so that one status line gets one verdict whatever the model.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace iobench::detail {

/// What the bytes at the start of a response say about its status line.
enum class status_line_kind {
  incomplete,  ///< no line end yet, and the bytes so far can still begin a status line
  interim,     ///< a 1xx other than 101: skip it, the final response follows
  final,       ///< 101 or 200..999: the response to the request
  malformed,   ///< not `HTTP/1.0|1.1 SP 3DIGIT SP reason CRLF` (or a status under 100)
};

struct status_line {
  status_line_kind kind = status_line_kind::incomplete;
  int code = 0;  ///< the status, when interim or final
};

/// Judges the status line that `head` (the bytes received for a response so far) starts with.
inline status_line read_status_line(std::string_view head) {
  constexpr std::string_view kName = "HTTP/1.";
  const auto malformed = status_line{status_line_kind::malformed};
  // A prefix that cannot become "HTTP/1." is not a response, even before its line ends (libcurl
  // rejects such bytes at once, as HTTP/0.9; so must everyone else).
  const std::size_t prefix = std::min(head.size(), kName.size());
  if (head.substr(0, prefix) != kName.substr(0, prefix)) return malformed;
  const auto lf = head.find('\n');
  if (lf == std::string_view::npos) return {};
  // HTTP/1.x SP DDD SP reason CR LF; the reason may be empty, its SP may not.
  const std::string_view line = head.substr(0, lf + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (line.size() < 15 || !line.ends_with("\r\n") || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || !digit(line[9]) || !digit(line[10]) || !digit(line[11]) ||
      line[12] != ' ' || line[9] == '0') {
    return malformed;
  }
  // reason-phrase = *( HTAB / SP / VCHAR / obs-text )
  for (const char ch : line.substr(13, line.size() - 15)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c != '\t' && (c < 0x20 || c == 0x7f)) return malformed;
  }
  const int code = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  return {code / 100 == 1 && code != 101 ? status_line_kind::interim : status_line_kind::final,
          code};
}

/// The first line of `bytes`, for a message: quoted, printable ASCII, at most 40 characters.
inline std::string quoted_line(std::string_view bytes) {
  constexpr std::size_t kMax = 40;
  const std::string_view line = bytes.substr(0, bytes.find_first_of("\r\n"));
  std::string out = "'";
  for (const char c : line.substr(0, kMax)) out += c >= 0x20 && c < 0x7f ? c : '?';
  return out + (line.size() > kMax ? "...'" : "'");
}

}  // namespace iobench::detail
