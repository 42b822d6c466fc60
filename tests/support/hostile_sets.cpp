#include "hostile_sets.hpp"

#include <string_view>

namespace iobench::test {
namespace {

using namespace std::string_literals;

// A valid response and where in it the final status line ends (its LF included).
struct base {
  std::string_view name;
  std::string bytes;
  std::size_t final_start;  // where the final response's status line begins
  int status;
  std::size_t body;
};

std::vector<base> bases() {
  const std::string interim = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n";
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  return {
      {"ok", ok, 0, 200, 5},
      {"interim", interim + ok, interim.size(), 200, 5},
      {"chunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
       0, 200, 5},
      {"204", "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n", 0, 204, 0},
      {"304", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0, 304, 0},
      {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, 404, 0},
  };
}

// Every prefix of every base, and the whole, each ended by FIN and by RST.
void add_cuts(std::vector<hostile_case>& out) {
  for (const auto& b : bases()) {
    const std::size_t status_end = b.bytes.find("\r\n", b.final_start) + 2;
    for (std::size_t k = 0; k <= b.bytes.size(); ++k) {
      for (const case_end end : {case_end::fin, case_end::rst}) {
        hostile_case c;
        c.name = "cut/" + std::string(b.name) + "/" + std::to_string(k) +
                 (end == case_end::fin ? "/fin" : "/rst");
        c.bytes = b.bytes.substr(0, k);
        c.end = end;
        if (k == b.bytes.size()) {
          c.status = b.status;
          c.body = b.body;
        } else {
          c.error = k < status_end ? ErrorKind::reset : ErrorKind::bad_response;
        }
        out.push_back(std::move(c));
      }
    }
  }
}

// A framing variant: a name, the response, and whether RFC 9112 takes it (then it is a 200 with
// `body` bytes).
struct variant {
  std::string_view name;
  std::string bytes;
  bool valid;
  std::size_t body = 5;
};

std::string with_fields(std::string_view fields, std::string_view body = "hello") {
  return "HTTP/1.1 200 OK\r\n"s + std::string(fields) + "\r\n" + std::string(body);
}

std::string chunked(std::string_view framed) {
  return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"s + std::string(framed);
}

std::vector<variant> variants() {
  return {
      // Content-Length: 1*DIGIT, at most 2^63 - 1; repeated (RFC 9110 8.6), only with the
      // same value.
      {"cl-leading-zeros", with_fields("Content-Length: 005\r\n"), true},
      {"cl-ows", with_fields("Content-Length: \t5 \r\n"), true},
      {"cl-twice-same", with_fields("Content-Length: 5\r\nContent-Length: 5\r\n"), true},
      {"cl-list-same", with_fields("Content-Length: 5, 5\r\n"), true},
      {"cl-list-different", with_fields("Content-Length: 5, 7\r\n"), false},
      {"cl-negative", with_fields("Content-Length: -5\r\n"), false},
      {"cl-plus", with_fields("Content-Length: +5\r\n"), false},
      {"cl-hex", with_fields("Content-Length: 0x5\r\n"), false},
      {"cl-empty", with_fields("Content-Length: \r\n"), false},
      {"cl-letters", with_fields("Content-Length: 5a\r\n"), false},
      {"cl-space-inside", with_fields("Content-Length: 5 5\r\n"), false},
      {"cl-2pow63", with_fields("Content-Length: 9223372036854775808\r\n"), false},
      {"cl-2pow64", with_fields("Content-Length: 18446744073709551616\r\n"), false},
      {"cl-40-digits", with_fields("Content-Length: " + std::string(40, '9') + "\r\n"), false},
      // Transfer-Encoding: chunked, once, the only coding (this client decodes no other), never
      // with Content-Length, never in HTTP/1.0.
      {"te-upper-case", with_fields("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"),
       true},
      {"te-ows", with_fields("Transfer-Encoding: \tchunked \r\n", "5\r\nhello\r\n0\r\n\r\n"), true},
      {"te-gzip", with_fields("Transfer-Encoding: gzip\r\n"), false},
      {"te-identity", with_fields("Transfer-Encoding: identity\r\n"), false},
      {"te-gzip-chunked",
       with_fields("Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), false},
      {"te-chunked-gzip", with_fields("Transfer-Encoding: chunked, gzip\r\n"), false},
      {"te-chunked-twice",
       with_fields("Transfer-Encoding: chunked, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), false},
      {"te-two-fields",
       with_fields("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                   "5\r\nhello\r\n0\r\n\r\n"),
       false},
      {"te-empty", with_fields("Transfer-Encoding: \r\n"), false},
      {"te-http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       false},
      {"te-and-cl",
       with_fields("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                   "5\r\nhello\r\n0\r\n\r\n"),
       false},
      // Field lines: token ":" OWS value OWS CRLF; a value of visible characters, SP, HTAB and
      // obs-text. (A fold continues the line before it, RFC 9112 5.2.)
      {"field-empty-value", with_fields("Content-Length: 5\r\nX-Empty:\r\n"), true},
      {"field-obs-text", with_fields("Content-Length: 5\r\nX-Latin: caf\xe9\r\n"), true},
      {"field-fold", with_fields("Content-Length: 5\r\nX-A: b\r\n c\r\n"), true},
      {"field-space-before-colon", with_fields("Content-Length : 5\r\n"), false},
      {"field-empty-name", with_fields("Content-Length: 5\r\n: x\r\n"), false},
      {"field-name-space", with_fields("Content-Length: 5\r\nX Y: z\r\n"), false},
      {"field-name-at", with_fields("Content-Length: 5\r\nX@Y: z\r\n"), false},
      {"field-value-nul", with_fields("Content-Length: 5\r\nX-A: a\0b\r\n"s), false},
      {"field-value-ctl", with_fields("Content-Length: 5\r\nX-A: a\x01z\r\n"), false},
      {"field-value-del", with_fields("Content-Length: 5\r\nX-A: a\x7fz\r\n"), false},
      {"field-bare-cr", with_fields("Content-Length: 5\r\nX-A: a\rb\r\n"), false},
      {"field-bare-lf", with_fields("X-A: a\nContent-Length: 5\r\n"), false},
      {"field-no-colon", with_fields("Content-Length: 5\r\nNoColonHere\r\n"), false},
      {"interim-no-colon",
       "HTTP/1.1 100 Continue\r\nNoColon\r\n\r\n" + with_fields("Content-Length: 5\r\n"), false},
      // Chunk lines: 1*HEXDIG (16 at most) [ chunk-ext ] CRLF, data, CRLF; trailer field lines.
      {"chunk-size-upper-hex", chunked("A\r\nhellohello\r\n0\r\n\r\n"), true, 10},
      {"chunk-size-leading-zeros", chunked("0005\r\nhello\r\n000\r\n\r\n"), true},
      {"chunk-ext-token", chunked("5;name=value\r\nhello\r\n0;last\r\n\r\n"), true},
      {"chunk-ext-quoted", chunked("5;name=\"a \\\"b\\\" c\"\r\nhello\r\n0\r\n\r\n"), true},
      {"chunk-ext-bws", chunked("5 ; name = value\r\nhello\r\n0\r\n\r\n"), true},
      {"trailer-fields", chunked("5\r\nhello\r\n0\r\nX-T: 1\r\nX-U:\r\n\r\n"), true},
      {"chunk-size-0x", chunked("0x5\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-negative", chunked("-5\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-empty", chunked("\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-space-first", chunked(" 5\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-space-after", chunked("5 \r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-17-digits", chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-size-bare-lf", chunked("5\nhello\r\n0\r\n\r\n"), false},
      {"chunk-data-bare-lf", chunked("5\r\nhello\n0\r\n\r\n"), false},
      {"chunk-ext-no-name", chunked("5;=x\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-ext-space-in-name", chunked("5;a b\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-ext-open-quote", chunked("5;a=\"x\r\nhello\r\n0\r\n\r\n"), false},
      {"chunk-ext-ctl", chunked("5;a=\x01\r\nhello\r\n0\r\n\r\n"), false},
      {"last-chunk-bare-lf", chunked("5\r\nhello\r\n0\n\r\n"), false},
      {"trailer-no-colon", chunked("5\r\nhello\r\n0\r\nNoColonHere\r\n\r\n"), false},
      {"trailer-bare-lf", chunked("5\r\nhello\r\n0\r\nX-T: 1\n\r\n"), false},
      {"trailer-end-bare-lf", chunked("5\r\nhello\r\n0\r\n\n"), false},
      {"trailer-fold-first", chunked("5\r\nhello\r\n0\r\n X-T: 1\r\n\r\n"), false},
      {"trailer-value-ctl", chunked("5\r\nhello\r\n0\r\nX-T: a\x01z\r\n\r\n"), false},
  };
}

void add_framing(std::vector<hostile_case>& out) {
  for (auto& v : variants()) {
    hostile_case c;
    c.name = "framing/" + std::string(v.name);
    c.bytes = std::move(v.bytes);
    c.end = case_end::fin;
    if (v.valid) {
      c.status = 200;
      c.body = v.body;
    } else {
      c.error = ErrorKind::bad_response;
    }
    out.push_back(std::move(c));
  }
}

}  // namespace

const std::vector<hostile_case>& hostile_cases() {
  static const std::vector<hostile_case> kCases = [] {
    std::vector<hostile_case> out;
    add_cuts(out);
    add_framing(out);
    return out;
  }();
  return kCases;
}

}  // namespace iobench::test
