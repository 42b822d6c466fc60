#include "response_framing.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "impls/fetcher.hpp"
#include "status_line.hpp"

namespace iobench::detail {
namespace {

// libcurl's limit on a chunk size: 16 hex digits (CHUNK_MAXNUM_LEN).
constexpr int kMaxSizeDigits = 16;
// What every status line starts with.
constexpr std::string_view kVersion = "HTTP/1.";
// A Content-Length libcurl can hold (curl_off_t).
constexpr std::uint64_t kMaxLength = std::numeric_limits<std::int64_t>::max();

// Character classes as tables: every head line of every response goes through them.
constexpr auto kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  }
  return t;
}();
// VCHAR, SP, HTAB or obs-text: what a field value may hold.
constexpr auto kFieldChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
  return t;
}();

bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
bool is_field_char(char c) { return kFieldChar[static_cast<unsigned char>(c)]; }

// Whole strings, in loops the compiler sees through (std::all_of over a function pointer was
// half of the judge's time).
bool is_token(std::string_view s) {
  bool all = !s.empty();
  for (const char c : s) all &= is_tchar(c);
  return all;
}
bool is_field_value(std::string_view s) {
  bool all = true;
  for (const char c : s) all &= is_field_char(c);
  return all;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
  });
}

// Skips a token at `i`; false when there is none.
bool skip_token(std::string_view s, std::size_t& i) {
  const std::size_t from = i;
  while (i < s.size() && is_tchar(s[i])) ++i;
  return i > from;
}

// Skips a quoted-string at `i` (which is at its DQUOTE); false when it is malformed.
bool skip_quoted(std::string_view s, std::size_t& i) {
  for (++i; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (++i == s.size() || !is_field_char(s[i])) return false;
    } else if (!is_field_char(s[i])) {
      return false;
    }
  }
  return false;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
bool valid_chunk_ext(std::string_view s) {
  std::size_t i = 0;
  for (;;) {
    const std::size_t before = i;
    while (i < s.size() && is_ows(s[i])) ++i;
    if (i == s.size()) return i == before;  // whitespace is only allowed before a ';'
    if (s[i++] != ';') return false;
    while (i < s.size() && is_ows(s[i])) ++i;
    if (!skip_token(s, i)) return false;
    std::size_t j = i;
    while (j < s.size() && is_ows(s[j])) ++j;
    if (j == s.size() || s[j] != '=') continue;
    for (i = j + 1; i < s.size() && is_ows(s[i]);) ++i;
    if (i < s.size() && s[i] == '"') {
      if (!skip_quoted(s, i)) return false;
    } else if (!skip_token(s, i)) {
      return false;
    }
  }
}

}  // namespace

void response_framing::reset() {
  state_ = state::status_line;
  violation_.clear();
  line_.clear();
  current_ = {};
  header_bytes_ = trailer_bytes_ = 0;
  final_ = head_done_ = http10_ = false;
  conn_close_ = conn_keep_alive_ = false;
  status_ = 0;
  any_field_ = false;
  last_field_ = field::other;
  framing_value_.clear();
  has_length_ = chunked_ = has_encoding_ = false;
  length_ = length_left_ = chunk_left_ = body_bytes_ = 0;
  codings_ = 0;
}

std::size_t response_framing::fail(std::string why) {
  if (violation_.empty()) violation_ = std::move(why);
  return 0;
}

bool response_framing::take_line(std::string_view& bytes, std::size_t& used, std::size_t room,
                                 const char* what, std::size_t limit) {
  const auto lf = bytes.find('\n');
  const std::size_t n = lf == std::string_view::npos ? bytes.size() : lf + 1;
  if (line_.size() + n > room) {
    fail(std::string(what) + " over " + std::to_string(limit) + " bytes");
    return false;
  }
  const std::string_view piece = bytes.substr(0, n);
  bytes.remove_prefix(n);
  used += n;
  if (lf == std::string_view::npos) {
    line_.append(piece);
    return false;
  }
  // A line that arrived whole is read where it lies; only one split across feeds is copied.
  if (line_.empty()) {
    current_ = piece;
  } else {
    line_.append(piece);
    current_ = line_;
  }
  if (current_.size() < 2 || current_[current_.size() - 2] != '\r') {
    fail("a bare LF ends a line: " + quoted_line(current_));
    return false;
  }
  return true;
}

std::size_t response_framing::feed(std::string_view bytes) {
  std::size_t used = 0;
  while (!bytes.empty() && !bad() && state_ != state::done) {
    switch (state_) {
      case state::status_line:
      case state::fields: {
        if (state_ == state::status_line && line_.size() < kVersion.size()) {
          // A prefix that cannot become "HTTP/1." is no response, even before its line ends
          // (libcurl rejects such bytes at once, as HTTP/0.9).
          const std::size_t n = std::min(bytes.size(), kVersion.size() - line_.size());
          if (bytes.substr(0, n) != kVersion.substr(line_.size(), n)) {
            fail("malformed status line " + quoted_line(line_ + std::string(bytes.substr(0, 40))));
            break;
          }
        }
        const std::size_t room = kMaxHeaderBytes - std::min(kMaxHeaderBytes, header_bytes_);
        if (!take_line(bytes, used, room, "header section", kMaxHeaderBytes)) break;
        header_bytes_ += current_.size();
        if (state_ == state::status_line) {
          on_status_line();
        } else if (current_ == "\r\n") {
          commit_field();
          on_head_end();
        } else {
          on_field_line(false);
        }
        line_.clear();
        break;
      }
      case state::length:
      case state::chunk_data: {
        std::uint64_t& left = state_ == state::length ? length_left_ : chunk_left_;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, bytes.size()));
        bytes.remove_prefix(n);
        used += n;
        left -= n;
        body_bytes_ += n;
        if (left == 0) state_ = state_ == state::length ? state::done : state::chunk_cr;
        break;
      }
      case state::to_close:
        used += bytes.size();
        body_bytes_ += bytes.size();
        bytes = {};
        break;
      case state::chunk_cr:
      case state::chunk_lf: {
        const char want = state_ == state::chunk_cr ? '\r' : '\n';
        if (bytes.front() != want) {
          fail("chunk data not followed by CRLF");
          break;
        }
        bytes.remove_prefix(1);
        ++used;
        state_ = state_ == state::chunk_cr ? state::chunk_lf : state::chunk_line;
        break;
      }
      case state::chunk_line:
        if (!take_line(bytes, used, kMaxChunkLineBytes, "chunk-size line (size and extensions)",
                       kMaxChunkLineBytes)) {
          break;
        }
        on_chunk_line();
        line_.clear();
        break;
      case state::trailers: {
        const std::size_t room = kMaxTrailerBytes - std::min(kMaxTrailerBytes, trailer_bytes_);
        if (!take_line(bytes, used, room, "trailer section", kMaxTrailerBytes)) break;
        trailer_bytes_ += current_.size();
        if (current_ == "\r\n") {
          state_ = state::done;
        } else {
          on_field_line(true);
        }
        line_.clear();
        break;
      }
      case state::done:
        break;
    }
  }
  return used;
}

void response_framing::on_status_line() {
  const status_line s = read_status_line(current_);
  if (s.kind != status_line_kind::interim && s.kind != status_line_kind::final) {
    fail("malformed status line " + quoted_line(current_));
    return;
  }
  if (s.code == 101) {
    fail("101 Switching Protocols, but no upgrade was asked for");
    return;
  }
  final_ = s.kind == status_line_kind::final;
  status_ = s.code;
  http10_ = current_[7] == '0';
  conn_close_ = conn_keep_alive_ = false;
  any_field_ = false;
  last_field_ = field::other;
  state_ = state::fields;
}

void response_framing::on_field_line(bool trailer) {
  const std::string_view line = current_.substr(0, current_.size() - 2);  // without its CRLF
  if (is_ows(line.front())) {
    // obs-fold (RFC 9112 5.2): continues the field before it, if there is one.
    if (!any_field_) {
      fail(std::string(trailer ? "a trailer section" : "a head") +
           " whose first field line starts with whitespace: " + quoted_line(line));
      return;
    }
    if (!is_field_value(line)) {
      fail("a control character in a field value: " + quoted_line(line));
      return;
    }
    if (last_field_ != field::other) {
      framing_value_ += ' ';
      framing_value_ += trim_ows(line);
    }
    return;
  }
  commit_field();
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    fail("a field line without a colon: " + quoted_line(line));
    return;
  }
  const std::string_view name = line.substr(0, colon);
  if (!is_token(name)) {
    fail("a field name that is not a token: " + quoted_line(line));
    return;
  }
  const std::string_view value = line.substr(colon + 1);
  if (!is_field_value(value)) {
    fail("a control character in a field value: " + quoted_line(line));
    return;
  }
  any_field_ = true;
  last_field_ = field::other;
  if (trailer) return;
  if (iequals(name, "content-length")) {
    last_field_ = field::content_length;
  } else if (iequals(name, "transfer-encoding")) {
    last_field_ = field::transfer_encoding;
  } else if (iequals(name, "connection")) {
    on_connection_field(value);
  }
  if (last_field_ != field::other) framing_value_ = trim_ows(value);
}

// A Content-Length or Transfer-Encoding field is judged once its value is whole (after any
// continuation lines).
void response_framing::commit_field() {
  const field f = std::exchange(last_field_, field::other);
  if (f == field::other || bad()) return;
  std::string_view list = framing_value_;
  if (f == field::transfer_encoding) {
    has_encoding_ = true;
    for (;;) {
      const auto comma = list.find(',');
      const std::string_view coding = trim_ows(list.substr(0, comma));
      if (!coding.empty()) {  // RFC 9110 5.6.1: empty list elements are ignored
        ++codings_;
        chunked_ = iequals(coding, "chunked");
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return;
  }
  for (;;) {
    const auto comma = list.find(',');
    const std::string_view digits = trim_ows(list.substr(0, comma));
    std::uint64_t v = 0;
    const bool number = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    for (const char c : number ? digits : std::string_view{}) {
      if (v > (kMaxLength - static_cast<std::uint64_t>(c - '0')) / 10) {
        fail("Content-Length over 2^63 - 1: " + quoted_line(framing_value_));
        return;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!number) {
      fail("Content-Length is not a number: " + quoted_line(framing_value_));
      return;
    }
    if (has_length_ && v != length_) {
      fail("two different Content-Length values");
      return;
    }
    has_length_ = true;
    length_ = v;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Connection = #connection-option (RFC 9110 7.6.1), case-insensitive tokens.
void response_framing::on_connection_field(std::string_view value) {
  for (;;) {
    const auto comma = value.find(',');
    const std::string_view option = trim_ows(value.substr(0, comma));
    conn_close_ = conn_close_ || iequals(option, "close");
    conn_keep_alive_ = conn_keep_alive_ || iequals(option, "keep-alive");
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

void response_framing::on_head_end() {
  if (bad()) return;
  if (!final_) {
    // An interim response: the next head follows; its framing fields meant nothing.
    state_ = state::status_line;
    has_length_ = has_encoding_ = chunked_ = false;
    codings_ = 0;
    return;
  }
  head_done_ = true;
  if (status_ == 204 || status_ == 304) {
    state_ = state::done;  // no body, whatever the fields say
  } else if (has_encoding_) {
    if (http10_) {
      fail("Transfer-Encoding in an HTTP/1.0 response");
    } else if (has_length_) {
      fail("both Content-Length and Transfer-Encoding");
    } else if (codings_ != 1 || !chunked_) {
      fail("Transfer-Encoding other than chunked alone (this client decodes no other coding)");
    } else {
      state_ = state::chunk_line;
    }
  } else if (has_length_) {
    length_left_ = length_;
    state_ = length_ == 0 ? state::done : state::length;
  } else {
    state_ = state::to_close;
  }
}

void response_framing::on_chunk_line() {
  const std::string_view line = current_.substr(0, current_.size() - 2);
  std::size_t i = 0;
  std::uint64_t size = 0;
  for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
    if (i == kMaxSizeDigits) {
      fail("a chunk size of more than 16 hex digits: " + quoted_line(line));
      return;
    }
    size = size * 16 + static_cast<std::uint64_t>(hex_value(line[i]));
  }
  if (i == 0) {
    fail("a chunk-size line without a size: " + quoted_line(line));
    return;
  }
  if (!valid_chunk_ext(line.substr(i))) {
    fail("a malformed chunk-size line: " + quoted_line(line));
    return;
  }
  chunk_left_ = size;
  if (size > 0) {
    state_ = state::chunk_data;
  } else {
    state_ = state::trailers;
    any_field_ = false;
  }
}

}  // namespace iobench::detail
