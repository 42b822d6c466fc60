// The server's bytes without a socket: heads, chunk framing, dates, body content.
#include "mock_server/wire.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
namespace wire = iobench::mock::wire;

std::string gather(const std::vector<boost::asio::const_buffer>& bufs) {
  std::string out;
  for (const auto& b : bufs) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(Wire, HeadHasStatusLineHeadersAndBlankLine) {
  std::string head = "stale";
  wire::build_head(head, 200, {.content_length = 42, .delay = 1500us, .late = 20us});
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\nServer: iobench-mock\r\nDate: ")) << head;
  EXPECT_NE(head.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Length: 42\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nServer-Timing: delay;dur=1.500, late;dur=0.020\r\n"), std::string::npos)
      << head;
  EXPECT_EQ(head.find("Connection:"), std::string::npos) << "keep-alive is HTTP/1.1's default";
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  EXPECT_EQ(head.find("stale"), std::string::npos) << "the head replaces what was there";
}

TEST(Wire, ChunkedWhenNoLengthAndNeverFor204Or304) {
  std::string head;
  wire::build_head(head, 200, {});
  EXPECT_NE(head.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos) << head;
  for (int status : {204, 304}) {
    wire::build_head(head, status, {.content_length = 10});
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    wire::build_head(head, status, {});
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  }
}

TEST(Wire, ConnectionHeaderFollowsKeepAliveAndVersion) {
  std::string head;
  wire::build_head(head, 200, {.content_length = 0, .keep_alive = false});
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
  wire::build_head(head, 200, {.content_length = 0, .keep_alive = true, .http10 = true});
  EXPECT_NE(head.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << head;
  wire::build_head(head, 405, {.content_length = 0, .extra = "Allow: GET, HEAD\r\n"});
  EXPECT_NE(head.find("\r\nAllow: GET, HEAD\r\n\r\n"), std::string::npos) << head;
}

TEST(Wire, ReasonPhrasesAreBeastsAndUnknownCodesStillGetOne) {
  EXPECT_EQ(wire::reason(200), "OK");
  EXPECT_EQ(wire::reason(404), "Not Found");
  EXPECT_EQ(wire::reason(431), "Request Header Fields Too Large");
  EXPECT_EQ(wire::reason(503), "Service Unavailable");
  EXPECT_EQ(wire::reason(299), "Unknown");
  std::string head;
  wire::build_head(head, 299, {.content_length = 0});
  EXPECT_TRUE(head.starts_with("HTTP/1.1 299 Unknown\r\n")) << head;
}

TEST(Wire, DatesAreImfFixdate) {
  EXPECT_EQ(wire::format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  const std::regex imf(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)");
  EXPECT_TRUE(std::regex_match(std::string(wire::http_date()), imf)) << wire::http_date();
}

TEST(Wire, ChunkHeadersAreHex) {
  std::string out;
  wire::append_chunk_header(out, 500);
  EXPECT_EQ(out, "1f4\r\n");
  out.clear();
  wire::append_chunk_header(out, 65536);
  EXPECT_EQ(out, "10000\r\n");
  EXPECT_EQ(wire::kLastChunk, "0\r\n\r\n");
}

TEST(Wire, BodySlicesAreTheSamePatternWhereverTheyStart) {
  std::vector<boost::asio::const_buffer> whole;
  wire::append_body(whole, 0, 200000);  // over the static block: more than one buffer
  const std::string body = gather(whole);
  ASSERT_EQ(body.size(), 200000U);
  EXPECT_GT(whole.size(), 1U);
  EXPECT_EQ(body, iobench::test::expected_body(body.size()));
  for (std::size_t i = 0; i < body.size(); i += 997) EXPECT_EQ(body[i], wire::body_byte(i)) << i;
  std::vector<boost::asio::const_buffer> slice;
  wire::append_body(slice, 70001, 5000);
  EXPECT_EQ(gather(slice), body.substr(70001, 5000));
  std::vector<boost::asio::const_buffer> none;
  wire::append_body(none, 12, 0);
  EXPECT_TRUE(none.empty());
}

}  // namespace
