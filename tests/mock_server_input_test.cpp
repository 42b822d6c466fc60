// What the mock server does with what a client sends: every bad input gets its status and one
// line, the limits hold (memory stays bounded whatever arrives), request framing that two parsers
// could read differently is refused, and request bodies are read, counted and dropped.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <thread>

#include "probes.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench::test;
namespace mock = iobench::mock;

std::string chunked_head(std::string_view target = "/x") {
  return "GET " + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
}

// Header field lines of exactly `bytes` bytes in all, each one short: no one of them is near the
// head limit. REQUIRES: bytes > 40.
std::string small_fields(std::size_t bytes) {
  std::string out;
  for (int i = 0; bytes - out.size() > 40; ++i) out += "X-F" + std::to_string(i) + ": v\r\n";
  return out + "X-Z: " + std::string(bytes - out.size() - 7, 'v') + "\r\n";
}

// A request head of exactly `bytes` bytes, the blank line that ends it included.
std::string head_of(std::size_t bytes) {
  const std::string start = "GET /x?bytes=1 HTTP/1.1\r\nHost: x\r\n";
  return start + small_fields(bytes - start.size() - 2) + "\r\n";
}

// Every bad input, as raw bytes: the right status, and the server still serves the next client.
struct bad_input {
  const char* name;
  std::string bytes;
  int status;
  bool closes;
};

void PrintTo(const bad_input& b, std::ostream* os) { *os << b.name; }

class BadInput : public ::testing::TestWithParam<bad_input> {};

TEST_P(BadInput, GetsItsStatusAndOthersAreStillServed) {
  running_server s;
  client_socket bystander(s.port());
  bystander.send_get("/b?delay=100ms&bytes=8");  // in flight while the bad input arrives
  {
    client_socket c(s.port());
    c.send(GetParam().bytes);
    auto r = c.read_response();
    ASSERT_EQ(r.end, read_end::response) << GetParam().name << ": " << r.raw;
    EXPECT_EQ(r.response->status, GetParam().status) << r.response->body;
    EXPECT_FALSE(r.response->body.empty()) << "the answer says what was wrong";
    EXPECT_EQ(r.response->body.find('\n'), r.response->body.size() - 1) << "one line";
    if (GetParam().closes) {
      EXPECT_EQ(r.response->header("connection"), "close");
      EXPECT_NE(c.read_until_close(5s).end, read_end::timeout);
    } else {
      EXPECT_EQ(c.get("/healthz").response->status, 200) << "the same connection goes on";
    }
  }
  auto late = bystander.read_response();
  ASSERT_EQ(late.end, read_end::response);
  EXPECT_EQ(late.response->body, expected_body(8));
  client_socket next(s.port());
  EXPECT_EQ(next.get("/n?bytes=2").response->body, expected_body(2));
  EXPECT_GE(s.stats().bad_requests, 1U);
}

INSTANTIATE_TEST_SUITE_P(
    MockServer, BadInput,
    ::testing::Values(
        bad_input{"garbage", "THIS IS NOT HTTP\r\n\r\n", 400, true},
        bad_input{"bad_version", "GET / HTTP/9.9x\r\n\r\n", 400, true},
        bad_input{"bad_header", "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400, true},
        bad_input{"huge_headers",
                  "GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 431, true},
        bad_input{"huge_body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413,
                  true},
        bad_input{"delete", "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
        bad_input{"put_with_body", "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                  405, false},
        bad_input{"unknown_param", get_request("/x?frobnicate=1"), 400, false},
        bad_input{"bad_delay", get_request("/x?delay=soon"), 400, false},
        bad_input{"delay_over_limit", get_request("/x?delay=61s"), 400, false},
        bad_input{"bytes_over_limit", get_request("/x?bytes=65m"), 400, false},
        bad_input{"bad_status", get_request("/x?status=99"), 400, false},
        bad_input{"bad_dist", get_request("/x?dist=zipf"), 400, false},
        bad_input{"bad_fail", get_request("/x?fail=explode"), 400, false},
        bad_input{"bad_chunked", get_request("/x?chunked=2"), 400, false},
        bad_input{"bad_seed", get_request("/x?seed=x"), 400, false},
        bad_input{"duplicate", get_request("/x?delay=1&delay=2"), 400, false},
        // The head limit counts the whole head, however it is split into fields.
        bad_input{"many_small_headers", head_of(16 * 1024 + 1), 431, true},
        bad_input{"many_small_headers_far_over", head_of(30 * 1024), 431, true},
        // Chunked framing ends its lines with CRLF (RFC 9112 7.1): a bare LF is an error, not a
        // line end to wait past.
        bad_input{"chunk_size_bare_lf", chunked_head() + "5\nhello\r\n0\r\n\r\n", 400, true},
        bad_input{"chunk_data_bare_lf", chunked_head() + "5\r\nhello\n0\r\n\r\n", 400, true},
        bad_input{"last_chunk_bare_lf", chunked_head() + "0\n\r\n", 400, true},
        bad_input{"trailer_bare_lf", chunked_head() + "0\r\nX-T: v\n\r\n", 400, true},
        bad_input{"trailer_end_bare_lf", chunked_head() + "0\r\n\n", 400, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MockServer, HeadUpToTheLimitIsServed) {
  running_server s;
  client_socket c(s.port());
  c.send(head_of(16 * 1024));
  auto r = c.read_response();
  ASSERT_EQ(r.end, read_end::response) << r.raw;
  EXPECT_EQ(r.response->status, 200) << r.response->body;
  EXPECT_EQ(c.get("/healthz").response->status, 200) << "the connection goes on";
}

TEST(MockServer, UnknownParameterErrorNamesItAndTheAcceptedOnes) {
  running_server s;
  client_socket c(s.port());
  auto r = c.get("/x?frobnicate=1");
  EXPECT_EQ(r.response->body,
            "unknown parameter 'frobnicate'; accepted: delay, jitter, dist, bytes, status, "
            "chunked, drip, fail, seed\n");
  r = c.get("/x?delay=61s");
  EXPECT_EQ(r.response->body,
            "delay: '61s' is over the limit; accepted: 0 to 60s, e.g. 250us, 100ms, 1.5s\n");
}

// The process's peak resident memory (VmHWM), in bytes.
std::size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// A request whose chunked body never finishes a chunk line or its trailer section: the server
// must answer with `status` and close before it has read `kEndless` bytes, keep its memory
// bounded, and go on serving everyone else.
struct endless_input {
  const char* name;
  std::string start;  // the head and the body up to where it goes on forever
  std::string repeat;
  int status;
  const char* names;  // what the one-line answer must name
};

void PrintTo(const endless_input& e, std::ostream* os) { *os << e.name; }

class EndlessInput : public ::testing::TestWithParam<endless_input> {};

TEST_P(EndlessInput, IsCutOffWithMemoryBoundedAndOthersServed) {
  constexpr std::size_t kEndless = 64 << 20;      // before the limits, all of it was buffered
  constexpr std::size_t kMemorySlack = 16 << 20;  // the limits are 16 KiB; allocator noise aside
  const auto& p = GetParam();
  running_server s;
  client_socket bystander(s.port());
  bystander.send_get("/b?delay=100ms&bytes=8");  // in flight while the endless input arrives
  const std::size_t peak_before = peak_rss_bytes();
  {
    client_socket c(s.port());
    c.send(p.start);
    std::string block;
    while (block.size() < 64 * 1024) block += p.repeat;
    const std::size_t sent = c.send_until_answered(block, kEndless);
    EXPECT_LT(sent, kEndless) << "no answer to " << sent << " bytes";
    auto r = c.read_response();
    ASSERT_EQ(r.end, read_end::response) << r.raw.substr(0, 200);
    EXPECT_EQ(r.response->status, p.status) << r.response->body;
    EXPECT_NE(r.response->body.find(p.names), std::string::npos) << r.response->body;
    EXPECT_EQ(r.response->body.find('\n'), r.response->body.size() - 1) << "one line";
    EXPECT_EQ(r.response->header("connection"), "close");
    c.send_until_answered(block, kEndless);  // whatever the server still drains
    EXPECT_NE(c.read_until_close(10s).end, read_end::timeout) << "the connection closes";
  }
  EXPECT_LT(peak_rss_bytes(), peak_before + kMemorySlack)
      << "peak RSS grew by " << ((peak_rss_bytes() - peak_before) >> 20) << " MiB";
  auto late = bystander.read_response();
  ASSERT_EQ(late.end, read_end::response);
  EXPECT_EQ(late.response->body, expected_body(8));
  client_socket next(s.port());
  EXPECT_EQ(next.get("/n?bytes=2").response->body, expected_body(2));
  const auto st = s.stats();
  EXPECT_EQ(st.bad_requests, 1U);
  EXPECT_EQ(st.responses.at(p.status), 1U);
}

std::string many_extended_chunks() {
  // Each chunk line is short; together they carry far more extension than data.
  std::string out;
  for (int i = 0; i < 10; ++i) out += "1;" + std::string(1000, 'e') + "\r\nx\r\n";
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    MockServer, EndlessInput,
    ::testing::Values(
        endless_input{"chunk_extension", chunked_head() + "1;", "a", 413, "chunk extensions"},
        endless_input{"chunk_extension_value", chunked_head() + "1;name=\"", "v", 413,
                      "chunk extensions"},
        endless_input{"last_chunk_extension", chunked_head() + "5\r\nhello\r\n0;", "b", 413,
                      "chunk extensions"},
        endless_input{"many_chunk_extensions", chunked_head(), many_extended_chunks(), 413,
                      "chunk extensions"},
        endless_input{"trailer_value", chunked_head() + "0\r\nX-Trailer: ", "t", 431, "trailers"},
        endless_input{"trailer_fields", chunked_head() + "3\r\nabc\r\n0\r\n", "X-T: v\r\n", 431,
                      "trailers"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MockServer, ChunkedRequestsWithinTheLimitsAreServed) {
  running_server s;
  client_socket c(s.port());
  // Extensions and trailers just under their 16 KiB limits, then a second request on the same
  // connection: the limits apply per request.
  const std::string ext(16 * 1024 - 64, 'e');
  c.send(chunked_head("/x?bytes=3") + "4;" + ext +
         "\r\nbody\r\n0\r\nX-T: " + std::string(16 * 1024 - 64, 't') + "\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.end, read_end::response);
  EXPECT_EQ(r.response->status, 200) << r.response->body;
  EXPECT_EQ(r.response->body, expected_body(3));
  c.send(chunked_head("/y?bytes=2") + "1;" + ext + "\r\nz\r\n0\r\n\r\n");
  r = c.read_response();
  ASSERT_EQ(r.end, read_end::response);
  EXPECT_EQ(r.response->status, 200) << r.response->body;
  // Over the limit by a little, in one go: the same answer as endless input.
  c.send(chunked_head() + "1;" + std::string(16 * 1024 + 1, 'e') + "\r\nz\r\n0\r\n\r\n");
  r = c.read_response();
  ASSERT_EQ(r.end, read_end::response);
  EXPECT_EQ(r.response->status, 413) << r.response->body;
}

// A request whose body length is ambiguous is refused and its connection closed, so that a body
// which is itself a request is never served as a second request.
struct ambiguous_framing {
  const char* name;
  std::string headers;  // framing header lines, each ending in \r\n
  int status;
  std::string version = "HTTP/1.1";
};

void PrintTo(const ambiguous_framing& a, std::ostream* os) { *os << a.name; }

class AmbiguousFraming : public ::testing::TestWithParam<ambiguous_framing> {};

TEST_P(AmbiguousFraming, IsRefusedAndTheSmuggledRequestIsNeverAnswered) {
  const auto& p = GetParam();
  const std::string inner = "GET /smuggled?status=418 HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string headers = p.headers;
  const auto cl = headers.find("{len}");
  if (cl != std::string::npos) headers.replace(cl, 5, std::to_string(inner.size()));
  running_server s;
  client_socket c(s.port());
  c.send("GET /x?bytes=1 " + p.version + "\r\nHost: x\r\n" + headers + "\r\n" + inner);
  auto r = c.read_response();
  ASSERT_EQ(r.end, read_end::response) << r.raw;
  EXPECT_EQ(r.response->status, p.status) << r.response->body;
  EXPECT_NE(r.response->body.find("Transfer-Encoding"), std::string::npos) << r.response->body;
  EXPECT_EQ(r.response->body.find('\n'), r.response->body.size() - 1) << "one line";
  EXPECT_EQ(r.response->header("connection"), "close");
  const auto rest = c.read_until_close(10s);
  EXPECT_NE(rest.end, read_end::timeout) << "the connection closes";
  EXPECT_EQ(rest.raw, "") << "nothing after the refusal";
  const auto st = s.stats();
  EXPECT_EQ(st.requests, 0U) << "neither the outer nor the smuggled request was served";
  EXPECT_EQ(st.responses.count(418), 0U);
  EXPECT_EQ(st.responses.count(200), 0U);
  EXPECT_EQ(st.responses.at(p.status), 1U);
  client_socket next(s.port());
  EXPECT_EQ(next.get("/n?bytes=2").response->body, expected_body(2));
}

INSTANTIATE_TEST_SUITE_P(
    MockServer, AmbiguousFraming,
    ::testing::Values(
        ambiguous_framing{"gzip", "Transfer-Encoding: gzip\r\n", 400},
        ambiguous_framing{"identity", "Transfer-Encoding: identity\r\n", 400},
        ambiguous_framing{"chunked_chunked", "Transfer-Encoding: chunked, chunked\r\n", 400},
        ambiguous_framing{"chunked_gzip", "Transfer-Encoding: chunked, gzip\r\n", 400},
        ambiguous_framing{"empty", "Transfer-Encoding: ,\r\n", 400},
        ambiguous_framing{"gzip_chunked", "Transfer-Encoding: gzip, chunked\r\n", 501},
        ambiguous_framing{"gzip_then_chunked_fields",
                          "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501},
        ambiguous_framing{"gzip_with_length",
                          "Transfer-Encoding: gzip\r\nContent-Length: {len}\r\n", 400},
        ambiguous_framing{"chunked_http10", "Transfer-Encoding: chunked\r\n", 400, "HTTP/1.0"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(MockServer, ContentLengthWithChunkedIsRefusedAndClosed) {
  // Beast refuses these two orders itself; the answer names the field and closes.
  for (const char* headers : {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                              "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"}) {
    running_server s;
    client_socket c(s.port());
    c.send(std::string("GET /x HTTP/1.1\r\nHost: x\r\n") + headers +
           "\r\n0\r\n\r\nGET /smuggled?status=418 HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.end, read_end::response) << headers;
    EXPECT_EQ(r.response->status, 400) << headers;
    EXPECT_EQ(r.response->header("connection"), "close");
    EXPECT_EQ(c.read_until_close(10s).raw, "") << headers;
    EXPECT_EQ(s.stats().requests, 0U) << headers;
  }
}

}  // namespace

namespace {

// Request bodies are read as they arrive and dropped, never held: many clients each halfway
// through the largest body a request may carry cost the server its read buffers, not their
// bodies, and it goes on answering everyone else.
TEST(MockServer, RequestBodiesAreCountedNotHeld) {
  constexpr std::size_t kClients = 64;
  constexpr std::size_t kBody = std::size_t{1} << 20;  // the most a request may carry
  constexpr double kSlackMib = 16;                     // held, the bodies would be 64 MiB
  running_server s;
  const std::string body(kBody, 'b');
  const std::string head =
      "GET /x?bytes=2 HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n";
  const double rss_before = iobench::bench::rss_mib();
  std::vector<client_socket> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.emplace_back(s.port());
    clients.back().send(head);
    clients.back().send(std::string_view(body).substr(0, kBody - 1));  // all but the last byte
  }
  ASSERT_TRUE(eventually([&] { return s.stats().request_body_bytes == kClients * (kBody - 1); }))
      << s.stats().request_body_bytes;
  EXPECT_LT(iobench::bench::rss_mib(), rss_before + kSlackMib);
  client_socket bystander(s.port());
  EXPECT_EQ(bystander.get("/n?bytes=3").response->body, expected_body(3));
  for (auto& c : clients) c.send("b");
  for (auto& c : clients) {
    const auto r = c.read_response();
    ASSERT_EQ(r.end, read_end::response) << r.raw;
    EXPECT_EQ(r.response->body, expected_body(2));
  }
  EXPECT_EQ(s.stats().request_body_bytes, kClients * kBody);
  EXPECT_EQ(s.stats().requests, kClients + 1);
}

TEST(MockServer, RequestBodyBytesAreCountedInStats) {
  running_server s;
  client_socket c(s.port());
  c.send("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(c.read_response().response->status, 200);
  c.send(chunked_head("/y") + "3\r\nabc\r\n4;e=1\r\ndefg\r\n0\r\nX-T: v\r\n\r\n");
  ASSERT_EQ(c.read_response().response->status, 200);
  EXPECT_EQ(s.stats().request_body_bytes, 12U) << "decoded bytes: 5 + 3 + 4";
  const auto doc = boost::json::parse(c.get("/stats").response->body).as_object();
  EXPECT_EQ(doc.at("request_body_bytes").to_number<std::uint64_t>(), 12U);
  c.send("POST /stats/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(c.read_response().response->status, 200);
  EXPECT_EQ(s.stats().request_body_bytes, 0U) << "a counter: reset zeroes it";
}

}  // namespace
