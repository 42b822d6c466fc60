#include "response_guard.hpp"

#include <algorithm>

#include "impls/fetcher.hpp"
#include "status_line.hpp"

namespace iobench::detail {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libcurl's limit on a chunk size: 16 hex digits (CHUNK_MAXNUM_LEN).
constexpr int kMaxSizeDigits = 16;

}  // namespace

void response_guard::reset() { *this = response_guard{}; }

bool response_guard::fail(std::string why) {
  if (violation_.empty()) violation_ = std::move(why);
  return false;
}

bool response_guard::on_header(std::string_view line) {
  header_bytes_ += line.size();
  if (header_bytes_ > kMaxHeaderBytes) {
    return fail("header section over " + std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (at_status_line_) {
    const status_line s = read_status_line(line);
    if (s.kind != status_line_kind::interim && s.kind != status_line_kind::final) {
      return fail("malformed status line " + quoted_line(line));
    }
    if (s.code == 101) return fail("101 Switching Protocols, but no upgrade was asked for");
    at_status_line_ = false;
    field_seen_ = false;
    started_ = started_ || s.kind == status_line_kind::final;
    content_length_.reset();
    chunked_ = false;
    return true;
  }
  if (!line.ends_with("\r\n")) return fail("header line not ended by CRLF: " + quoted_line(line));
  if (line == "\r\n") {
    // The end of a section: an interim response's, after which the next one begins, or the
    // final response's, after which its body follows.
    if (!started_) {
      at_status_line_ = true;
    } else if (chunked_ && content_length_) {
      return fail("both Content-Length and Transfer-Encoding: chunked");
    }
    return true;
  }
  if (line.front() == ' ' || line.front() == '\t') {  // obs-fold: libcurl unfolds it
    if (!field_seen_)
      return fail("continuation line with no field to continue " + quoted_line(line));
    return true;
  }
  field_seen_ = true;
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return true;  // libcurl rejects it itself
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "content-length")) {
    if (content_length_ && *content_length_ != value) {
      return fail("two different Content-Length values");
    }
    content_length_ = std::string(value);
  } else if (iequals(name, "transfer-encoding")) {
    // libcurl decodes chunks when any coding in the list is "chunked".
    for (std::string_view rest = value; !rest.empty();) {
      const auto comma = rest.find(',');
      chunked_ = chunked_ || iequals(trim(rest.substr(0, comma)), "chunked");
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return true;
}

bool response_guard::on_body(std::string_view bytes) {
  if (chunked_) {
    scan_chunked(bytes);
  } else {
    body_bytes_ += bytes.size();
  }
  return violation_.empty();
}

// Follows the chunked framing through `bytes`. Only limits are checked here: where the framing is
// malformed libcurl rejects it itself, and the scan stops.
void response_guard::scan_chunked(std::string_view bytes) {
  while (!bytes.empty() && violation_.empty()) {
    switch (chunk_) {
      case chunk_state::size_line: {
        const auto lf = bytes.find('\n');
        const std::string_view part = bytes.substr(0, lf == std::string_view::npos ? lf : lf + 1);
        for (std::size_t i = 0; i < part.size() && size_digits_ >= 0; ++i) {
          const int v = hex_value(part[i]);
          if (v < 0) {
            size_digits_ = size_digits_ == 0 ? -2 : -1;  // -2: no size at all
          } else if (++size_digits_ > kMaxSizeDigits) {
            size_digits_ = -2;
          } else {
            chunk_left_ = chunk_left_ * 16 + static_cast<std::uint64_t>(v);
          }
        }
        if (size_digits_ == -2) {
          chunk_ = chunk_state::done;
          break;
        }
        line_bytes_ += part.size();
        if (line_bytes_ > kMaxChunkLineBytes) {
          fail("chunk-size line (size and extensions) over " + std::to_string(kMaxChunkLineBytes) +
               " bytes");
          break;
        }
        bytes.remove_prefix(part.size());
        if (lf == std::string_view::npos) break;
        chunk_ = chunk_left_ == 0 ? chunk_state::trailers : chunk_state::data;
        line_bytes_ = 0;
        size_digits_ = 0;
        break;
      }
      case chunk_state::data: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, bytes.size()));
        bytes.remove_prefix(n);
        chunk_left_ -= n;
        body_bytes_ += n;
        if (chunk_left_ == 0) chunk_ = chunk_state::data_end;
        break;
      }
      case chunk_state::data_end: {
        const auto lf = bytes.find('\n');
        bytes.remove_prefix(lf == std::string_view::npos ? bytes.size() : lf + 1);
        if (lf != std::string_view::npos) chunk_ = chunk_state::size_line;
        break;
      }
      case chunk_state::trailers: {
        const auto lf = bytes.find('\n');
        const std::string_view part = bytes.substr(0, lf == std::string_view::npos ? lf : lf + 1);
        trailer_bytes_ += part.size();
        if (trailer_bytes_ > kMaxTrailerBytes) {
          fail("trailer section over " + std::to_string(kMaxTrailerBytes) + " bytes");
          break;
        }
        blank_line_ = blank_line_ && part.find_first_not_of("\r\n") == std::string_view::npos;
        bytes.remove_prefix(part.size());
        if (lf == std::string_view::npos) break;
        if (blank_line_) chunk_ = chunk_state::done;  // the empty line that ends the body
        blank_line_ = true;
        break;
      }
      case chunk_state::done:
        return;
    }
  }
}

}  // namespace iobench::detail
