// Every fetcher against a hostile server (tests/support/hostile_server): one fault, one error
// kind, whatever the model; interim 1xx responses skipped; bytes past a complete response
// discarded; endless input stopped by a limit in bounded memory, or by the total timeout on time;
// proxy settings in the environment ignored. The table these tests hold the models to is the one
// docs/models.md states, over http and, for each model that speaks it, over https (the same
// scripts inside TLS). The only durations asserted are the timeout contract's.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "hostile_server.hpp"
#include "impls/fetcher.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench;
using iobench::test::hostile_server;
using iobench::test::running_server;

// Peak RSS may grow this much while a fetcher takes endless input: a bound on memory, far below
// what an unbounded buffer reaches in a second on loopback, far above a fetcher's working set.
constexpr std::size_t kRssMarginBytes = 64UL << 20;
// The total timeout holds within 10%, plus this for stamping and scheduling on a loaded machine.
constexpr auto kTimeoutSlack = 150ms;

class Hostile : public iobench::test::scheme_test {
 protected:
  Hostile() : server_(https()) {
    if (https()) trust(server_.ca());
  }
  std::unique_ptr<Fetcher> make(std::size_t concurrency, std::chrono::milliseconds timeout) {
    Options o;
    o.concurrency = concurrency;
    o.timeout = timeout;
    return make_fetcher(model(), trusting(o));
  }
  hostile_server server_;
};

std::string describe(const Outcome& o) {
  return "status=" + std::to_string(o.status) + " body=" + std::to_string(o.body_bytes) +
         " error=" + std::string(to_string(o.error)) + " detail=" + o.detail;
}

// A fault and the one kind every model must report for it.
struct fault {
  std::string_view script;
  ErrorKind kind;
};

// Faults that end by themselves (or by a limit) well inside the timeout.
constexpr std::array kFaults{
    // A malformed status line: the response is not HTTP/1.x.
    fault{"status-000", ErrorKind::bad_response},
    fault{"status-2-digits", ErrorKind::bad_response},
    fault{"status-4-digits", ErrorKind::bad_response},
    fault{"status-letters", ErrorKind::bad_response},
    fault{"status-no-space", ErrorKind::bad_response},
    fault{"status-lowercase", ErrorKind::bad_response},
    fault{"status-version-2", ErrorKind::bad_response},
    fault{"status-version-1.2", ErrorKind::bad_response},
    fault{"not-http", ErrorKind::bad_response},
    fault{"garbage-no-newline", ErrorKind::bad_response},
    fault{"101-unasked", ErrorKind::bad_response},
    // Malformed framing.
    fault{"two-content-lengths", ErrorKind::bad_response},
    fault{"cl-and-chunked", ErrorKind::bad_response},
    fault{"bare-lf", ErrorKind::bad_response},
    fault{"header-no-colon", ErrorKind::bad_response},
    fault{"folded-first-header", ErrorKind::bad_response},
    fault{"bad-chunk-size", ErrorKind::bad_response},
    fault{"chunk-size-overflow", ErrorKind::bad_response},
    fault{"bad-chunk-end", ErrorKind::bad_response},
    // Cut short after the status line, by FIN or RST.
    fault{"close-after-headers", ErrorKind::bad_response},
    fault{"reset-after-headers", ErrorKind::bad_response},
    fault{"close-after-10-body-bytes", ErrorKind::bad_response},
    fault{"reset-after-10-body-bytes", ErrorKind::bad_response},
    fault{"close-in-chunked-body", ErrorKind::bad_response},
    fault{"reset-in-chunked-body", ErrorKind::bad_response},
    // No status line of a final response: the connection failed, not the response.
    fault{"close-before-response", ErrorKind::reset},
    fault{"reset-before-response", ErrorKind::reset},
    fault{"close-mid-status-line", ErrorKind::reset},
    fault{"reset-mid-status-line", ErrorKind::reset},
    fault{"close-after-100-continue", ErrorKind::reset},
    fault{"reset-after-100-continue", ErrorKind::reset},
    // Over a limit.
    fault{"endless-headers", ErrorKind::bad_response},
    fault{"endless-header-line", ErrorKind::bad_response},
    fault{"endless-status-line", ErrorKind::bad_response},
    fault{"endless-1xx", ErrorKind::bad_response},
    fault{"endless-chunk-ext", ErrorKind::bad_response},
    fault{"endless-trailers", ErrorKind::bad_response},
    fault{"endless-trailer-line", ErrorKind::bad_response},
};

// Endless input under every limit: only the total timeout ends it.
constexpr std::array kEndless{"huge-body-fast", "endless-chunks", "endless-close-delimited",
                              "trickle-headers"};

// Endless input over a limit (a subset of kFaults): checked for memory as well.
constexpr std::array kOverLimit{"endless-headers",     "endless-header-line", "endless-status-line",
                                "endless-1xx",         "endless-chunk-ext",   "endless-trailers",
                                "endless-trailer-line"};

// Peak resident set size of this process (VmHWM), in bytes.
std::size_t peak_rss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

// What the allocator may hold beyond a fetcher's own memory. Under ASan, freed memory waits in a
// quarantine (quarantine_size_mb of ASAN_OPTIONS, 256 MiB by default; the asan preset sets 32)
// before it is reused, plus its shadow (an eighth): a client that allocates per TLS record fills
// it while holding nothing. Plain builds reuse at once.
std::size_t allocator_slack() {
#if defined(__SANITIZE_ADDRESS__)
  std::size_t mib = 256;
  if (const char* options = std::getenv("ASAN_OPTIONS")) {
    const std::string o(options);
    constexpr std::string_view kKey = "quarantine_size_mb=";
    if (const auto at = o.find(kKey); at != std::string::npos) {
      mib = std::strtoul(o.c_str() + at + kKey.size(), nullptr, 10);
    }
  }
  return (mib << 20) * 9 / 8;
#else
  return 0;
#endif
}

// Starts a new peak (Linux >= 4.0: "5" resets VmHWM to the current RSS); harmless elsewhere.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

TEST_P(Hostile, EveryFaultHasOneErrorKindAndSparesTheNextRequest) {
  // Each fault is followed by a well-formed request whose body length names it: whatever the
  // fault did to its connection, the next request gets its own answer.
  const std::string u = server_.url();
  std::vector<Request> reqs;
  for (std::size_t i = 0; i < kFaults.size(); ++i) {
    reqs.push_back({u + "/" + std::string(kFaults[i].script)});
    reqs.push_back({u + "/ok?n=" + std::to_string(i + 1)});
  }
  for (std::size_t c : {1UL, 4UL}) {
    const auto out = make(c, 3s)->fetch_all(reqs);
    ASSERT_EQ(out.size(), reqs.size()) << "one outcome per request";
    for (std::size_t i = 0; i < kFaults.size(); ++i) {
      const Outcome& bad = out[2 * i];
      EXPECT_EQ(to_string(bad.error), to_string(kFaults[i].kind))
          << "c=" << c << " /" << kFaults[i].script << ": " << describe(bad);
      EXPECT_EQ(bad.status, 0) << kFaults[i].script;
      EXPECT_FALSE(bad.detail.empty()) << kFaults[i].script;
      const Outcome& next = out[2 * i + 1];
      EXPECT_TRUE(next.succeeded() && next.body_bytes == i + 1)
          << "c=" << c << " the request after /" << kFaults[i].script << ": " << describe(next);
    }
  }
}

TEST_P(Hostile, InterimResponsesAreSkipped) {
  // 1xx responses before the final one, in the same write or in several: each request gets its
  // own 200 and body, nothing shifts to the next request.
  const std::string u = server_.url();
  std::vector<Request> reqs;
  for (std::size_t i = 0; i < 12; ++i) {
    const char* script = i % 3 == 0 ? "/100-continue" : i % 3 == 1 ? "/1xx-split" : "/ok";
    reqs.push_back({u + script + "?n=" + std::to_string(i)});
  }
  for (std::size_t c : {1UL, 3UL}) {
    const auto out = make(c, 5s)->fetch_all(reqs);
    ASSERT_EQ(out.size(), reqs.size());
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(out[i].error, ErrorKind::none)
          << "c=" << c << " " << reqs[i].url << ": " << describe(out[i]);
      EXPECT_EQ(out[i].status, 200) << "c=" << c << " " << reqs[i].url;
      EXPECT_EQ(out[i].body_bytes, i) << "c=" << c << " " << reqs[i].url;
    }
  }
}

TEST_P(Hostile, BytesPastACompleteResponseAreDiscarded) {
  // Junk, or a whole unasked-for response, sent with a complete response: the response stands,
  // the extra bytes go with its connection, the next request gets its own answer.
  const std::string u = server_.url();
  std::vector<Request> reqs;
  for (std::size_t i = 0; i < 12; ++i) {
    const char* script = i % 4 == 0   ? "/extra-bytes"
                         : i % 4 == 1 ? "/extra-bytes-chunked"
                         : i % 4 == 2 ? "/extra-response"
                                      : "/ok";
    reqs.push_back({u + script + "?n=" + std::to_string(i + 1)});
  }
  for (std::size_t c : {1UL, 3UL}) {
    const auto out = make(c, 5s)->fetch_all(reqs);
    ASSERT_EQ(out.size(), reqs.size());
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_TRUE(out[i].succeeded() && out[i].body_bytes == i + 1)
          << "c=" << c << " " << reqs[i].url << ": " << describe(out[i]);
    }
  }
}

TEST_P(Hostile, WellFormedResponsesNearTheLimitsAreAccepted) {
  // The limits are not tighter than real servers need: 40 KiB of header fields, a 1 KiB chunk
  // extension on every chunk, 8 KiB of trailers; close-delimited and HTTP/1.0 bodies; a last
  // chunk and trailers that come a byte at a time.
  const std::string u = server_.url();
  const std::vector<Request> reqs{{u + "/big-headers-ok?n=1"}, {u + "/chunk-ext-ok?n=1234"},
                                  {u + "/trailers-ok?n=567"},  {u + "/no-length-close?n=89"},
                                  {u + "/http10?n=10"},        {u + "/ok?n=11"},
                                  {u + "/dribbled-chunks?n=7"}};
  const std::vector<std::size_t> want{1, 1234, 567, 89, 10, 11, 7};
  const auto out = make(2, 5s)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_TRUE(out[i].succeeded()) << reqs[i].url << ": " << describe(out[i]);
    EXPECT_EQ(out[i].body_bytes, want[i]) << reqs[i].url;
  }
}

TEST_P(Hostile, EndlessInputOverALimitIsABadResponseInBoundedMemory) {
  for (const char* script : kOverLimit) {
    reset_peak_rss();
    const std::size_t before = peak_rss();
    const auto out = make(1, 3s)->fetch_all(
        std::vector<Request>{{server_.url() + "/" + script}, {server_.url() + "/ok?n=3"}});
    const std::size_t after = peak_rss();
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(to_string(out[0].error), to_string(ErrorKind::bad_response))
        << "/" << script << ": " << describe(out[0]);
    EXPECT_TRUE(out[1].succeeded() && out[1].body_bytes == 3) << describe(out[1]);
    EXPECT_LE(after, before + kRssMarginBytes)
        << "/" << script << ": peak RSS grew by " << ((after - before) >> 20) << " MiB";
  }
}

TEST_P(Hostile, TotalTimeoutHoldsWhateverTheServerSends) {
  // Bodies that never end, fast or slow, and headers that trickle: the request ends as a timeout
  // within 10% of it, and nothing it received is kept.
  constexpr auto kTimeout = 2000ms;
  std::vector<Request> reqs;
  for (const char* script : kEndless) reqs.push_back({server_.url() + "/" + script});
  reset_peak_rss();
  const std::size_t before = peak_rss();
  const auto out = make(kEndless.size(), kTimeout)->fetch_all(reqs);
  const std::size_t after = peak_rss();
  ASSERT_EQ(out.size(), reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(to_string(out[i].error), to_string(ErrorKind::timeout))
        << reqs[i].url << ": " << describe(out[i]);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(out[i].latency());
    EXPECT_LE(took, kTimeout * 11 / 10 + kTimeoutSlack)
        << reqs[i].url << ": a " << kTimeout.count() << " ms timeout took " << took.count()
        << " ms";
  }
  EXPECT_LE(after, before + kRssMarginBytes + allocator_slack())
      << "peak RSS grew by " << ((after - before) >> 20) << " MiB";
}

// Sets an environment variable for a scope; restores the old value (or its absence) after.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_P(Hostile, ProxyEnvironmentIsIgnored) {
  // A proxy that does not exist (port 9, discard): a model that used it would fail every request
  // or measure the proxy. The variables are set before the fetcher exists and restored after.
  running_server s(config());
  const scoped_env http("http_proxy", "http://127.0.0.1:9");
  const scoped_env http_upper("HTTP_PROXY", "http://127.0.0.1:9");
  const scoped_env all("all_proxy", "http://127.0.0.1:9");
  const scoped_env all_upper("ALL_PROXY", "http://127.0.0.1:9");
  const auto out = make(2, 5s)->fetch_all(std::vector<Request>(4, Request{s.url() + "/p?bytes=5"}));
  ASSERT_EQ(out.size(), 4U);
  for (const auto& o : out) EXPECT_TRUE(o.succeeded() && o.body_bytes == 5) << describe(o);
  EXPECT_EQ(s.stats().requests, 4U) << "every request reached the server itself";
}

TEST_P(Hostile, AnUntrustedCertificateIsAConnectError) {
  // Over https a client that does not trust the server's certificate sends no request: the fault
  // is the connection's, whatever the model (the system's authorities never signed this one).
  if (!https()) GTEST_SKIP() << "a certificate is an https fault";
  Options o;
  o.concurrency = 2;
  o.timeout = 5s;
  const auto out =
      make_fetcher(model(), o)->fetch_all(std::vector<Request>(4, {server_.url() + "/ok?n=3"}));
  ASSERT_EQ(out.size(), 4U);
  for (const auto& r : out) {
    EXPECT_EQ(to_string(r.error), to_string(ErrorKind::connect)) << describe(r);
    EXPECT_NE(r.detail.find("certificate"), std::string::npos) << describe(r);
  }
  EXPECT_EQ(server_.requests(), 0U);
}

TEST(HostileServer, EveryScriptTheTestsNameExists) {
  const auto scripts = hostile_server::scripts();
  auto exists = [&](std::string_view name) {
    return std::find(scripts.begin(), scripts.end(), name) != scripts.end();
  };
  for (const auto& f : kFaults) EXPECT_TRUE(exists(f.script)) << f.script;
  for (const char* s : kEndless) EXPECT_TRUE(exists(s)) << s;
  for (const char* s : kOverLimit) EXPECT_TRUE(exists(s)) << s;
}

TEST(HostileServer, AnswersByScriptAndCountsConnections) {
  hostile_server s;
  test::client_socket c(s.port());
  auto r = c.get("/100-continue?n=4");
  ASSERT_EQ(r.end, test::read_end::response);
  EXPECT_EQ(r.response->status, 100);  // a raw reader sees the interim response first
  r = c.read_response();
  ASSERT_EQ(r.end, test::read_end::response);
  EXPECT_EQ(r.response->status, 200);
  EXPECT_EQ(r.response->body, "xxxx");
  r = c.get("/no-such-script");
  ASSERT_EQ(r.end, test::read_end::response);
  EXPECT_EQ(r.response->status, 404);
  c.send_get("/reset-before-response");
  EXPECT_EQ(c.read_response().end, test::read_end::reset);
  EXPECT_EQ(s.connections_accepted(), 1U);
  EXPECT_EQ(s.requests(), 3U);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Hostile, test::schemes(), test::scheme_test_name);

}  // namespace
