#include "mock_server/wire.hpp"

#include <array>
#include <boost/beast/http/status.hpp>
#include <charconv>

#include "common/units.hpp"

namespace iobench::mock::wire {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kBodyBlock = 64 * 1024;
constexpr std::string_view kPattern =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n";
static_assert(kPattern.size() == kPatternPeriod && kBodyBlock % kPatternPeriod == 0);

const std::array<char, kBodyBlock>& body_block() {
  static const auto block = [] {
    std::array<char, kBodyBlock> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = kPattern[i % kPatternPeriod];
    return b;
  }();
  return block;
}

void append_number(std::string& out, std::uint64_t v, int base = 10) {
  std::array<char, 24> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, base);
  out.append(buf.data(), end);
}

void append_ms(std::string& out, std::chrono::nanoseconds d) {
  std::array<char, 32> buf{};
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), to_ms(d), std::chars_format::fixed, 3);
  out.append(buf.data(), end);
}

}  // namespace

char body_byte(std::uint64_t offset) { return kPattern[offset % kPatternPeriod]; }

void append_body(std::vector<boost::asio::const_buffer>& out, std::uint64_t offset,
                 std::uint64_t len) {
  const auto& block = body_block();
  while (len > 0) {
    const std::size_t start = offset % kPatternPeriod;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, kBodyBlock - start));
    out.emplace_back(block.data() + start, n);
    offset += n;
    len -= n;
  }
}

std::string_view reason(int status) {
  const auto code = http::int_to_status(static_cast<unsigned>(status));
  return code == http::status::unknown ? "Unknown" : http::obsolete_reason(code);
}

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 40> text{};
  const std::size_t len = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return {text.data(), len};
}

std::string_view http_date() {
  thread_local std::time_t cached = -1;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != cached) {
    text = format_http_date(now);
    cached = now;
  }
  return text;
}

void build_head(std::string& out, int status, const head_fields& f) {
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(status));
  out += ' ';
  out += reason(status);
  out += "\r\nServer: iobench-mock\r\nDate: ";
  out += http_date();
  out += "\r\nContent-Type: ";
  out += f.content_type;
  const bool framed = status_has_body(status);
  if (framed && f.content_length) {
    out += "\r\nContent-Length: ";
    append_number(out, *f.content_length);
  } else if (framed) {
    out += "\r\nTransfer-Encoding: chunked";
  }
  out += "\r\nServer-Timing: delay;dur=";
  append_ms(out, f.delay);
  out += ", late;dur=";
  append_ms(out, f.late);
  if (!f.keep_alive) {
    out += "\r\nConnection: close";
  } else if (f.http10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n";
  out += f.extra;
  out += "\r\n";
}

void append_chunk_header(std::string& out, std::uint64_t size) {
  append_number(out, size, 16);
  out += kChunkEnd;
}

}  // namespace iobench::mock::wire
