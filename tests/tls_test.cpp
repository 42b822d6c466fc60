// Every fetcher against the mock server over TLS (mock_server --tls, a certificate authority made
// at start-up and written for the client to trust): a model that speaks https fetches the same
// bodies as over http, handshakes once per connection it opens, resumes the last connection's
// session on the next, fails an untrusted certificate as `connect`, and reports each fault with
// the kind it reports over http (docs/models.md); a model that does not speak https fails every
// https request as `connect`, saying so.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "impls/fetcher.hpp"
#include "test_support.hpp"

namespace {

using namespace iobench;
using iobench::test::running_server;

// A server with TLS whose authority's certificate is in a file of its own for the test's life.
class tls_server {
 public:
  tls_server()
      : ca_(std::filesystem::temp_directory_path() /
            ("iobench-tls-" + std::to_string(::getpid()) + "-" + std::to_string(next_++) + ".pem")),
        server_(config(ca_)) {}
  ~tls_server() { std::filesystem::remove(ca_); }
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;

  [[nodiscard]] std::string url() const { return server_.url(); }
  [[nodiscard]] std::string ca() const { return ca_.string(); }
  [[nodiscard]] mock::stats_snapshot stats() const { return server_.stats(); }

 private:
  static mock::server_config config(const std::filesystem::path& ca) {
    mock::server_config c;
    c.tls.enabled = true;
    c.tls.cert_out = ca.string();
    return c;
  }
  static inline int next_ = 0;
  std::filesystem::path ca_;
  running_server server_;
};

class Tls : public iobench::test::model_test {
 protected:
  [[nodiscard]] bool https() const { return find_model(GetParam())->https; }
  std::vector<Outcome> fetch(const std::string& target, std::size_t n, Options o) {
    o.timeout = std::chrono::milliseconds{5000};
    return make_fetcher(GetParam(), o)
        ->fetch_all(std::vector<Request>(n, {server_.url() + target}));
  }
  Options trusting(std::size_t concurrency = 4) const {
    Options o;
    o.concurrency = concurrency;
    o.cacert = server_.ca();
    return o;
  }
  tls_server server_;
};

std::string describe(const Outcome& o) {
  return "status=" + std::to_string(o.status) + " error=" + std::string(to_string(o.error)) +
         " detail=" + o.detail;
}

TEST_P(Tls, FetchesTheSameBodiesAndHandshakesOncePerConnection) {
  const auto out = fetch("/x?bytes=1000", 40, trusting());
  ASSERT_EQ(out.size(), 40U);
  if (!https()) {
    for (const auto& o : out) {
      EXPECT_EQ(o.error, ErrorKind::connect) << describe(o);
      EXPECT_NE(o.detail.find("does not speak https"), std::string::npos) << describe(o);
    }
    EXPECT_EQ(server_.stats().tls_handshakes, 0U);
    return;
  }
  std::size_t opened = 0;
  for (const auto& o : out) {
    EXPECT_EQ(o.error, ErrorKind::none) << describe(o);
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(o.body_bytes, 1000U);
    opened += o.new_connection ? 1 : 0;
  }
  const auto s = server_.stats();
  EXPECT_EQ(s.requests, 40U);
  EXPECT_EQ(s.tls_handshakes, s.connections_accepted);
  EXPECT_EQ(s.tls_handshakes, opened) << "one handshake per connection the model opened";
  EXPECT_LE(opened, 4U) << "keep-alive: at most one connection per request in flight";
  EXPECT_EQ(s.tls_failures, 0U);
}

TEST_P(Tls, WithoutKeepAliveEveryRequestPaysAHandshake) {
  if (!https()) GTEST_SKIP() << GetParam() << " does not speak https";
  Options o = trusting(2);
  o.keep_alive = false;
  const auto out = fetch("/x?bytes=10", 10, o);
  for (const auto& r : out) EXPECT_EQ(r.error, ErrorKind::none) << describe(r);
  EXPECT_TRUE(test::eventually([&] { return server_.stats().tls_handshakes == 10U; }))
      << server_.stats().tls_handshakes;
}

TEST_P(Tls, ANewConnectionResumesTheLastSession) {
  if (!https()) GTEST_SKIP() << GetParam() << " does not speak https";
  Options o = trusting(1);
  o.keep_alive = false;
  for (const auto& r : fetch("/x?bytes=10", 8, o))
    EXPECT_EQ(r.error, ErrorKind::none) << describe(r);
  EXPECT_TRUE(test::eventually([&] { return server_.stats().tls_handshakes == 8U; }));
  // One full handshake; each later connection offers the session the one before it closed.
  EXPECT_EQ(server_.stats().tls_resumed, 7U);
}

TEST_P(Tls, AnUntrustedCertificateIsAConnectError) {
  Options o;  // the system's authorities, which never signed the made one
  o.concurrency = 2;
  for (const auto& r : fetch("/x", 4, o)) EXPECT_EQ(r.error, ErrorKind::connect) << describe(r);
  EXPECT_EQ(server_.stats().requests, 0U) << "no request reaches the server";
  if (https()) {
    EXPECT_TRUE(test::eventually([&] { return server_.stats().tls_failures >= 1U; }));
  }
}

TEST_P(Tls, InsecureSkipsVerification) {
  if (!https()) GTEST_SKIP() << GetParam() << " does not speak https";
  Options o;
  o.insecure = true;
  for (const auto& r : fetch("/x?bytes=5", 3, o)) {
    EXPECT_EQ(r.error, ErrorKind::none) << describe(r);
    EXPECT_EQ(r.body_bytes, 5U);
  }
}

TEST_P(Tls, EachFaultHasTheKindItHasOverHttp) {
  if (!https()) GTEST_SKIP() << GetParam() << " does not speak https";
  const struct {
    const char* target;
    ErrorKind kind;
  } faults[] = {{"/f?fail=reset", ErrorKind::reset},
                {"/f?fail=close", ErrorKind::reset},
                {"/f?fail=truncate&bytes=1000", ErrorKind::bad_response},
                {"/f?fail=truncate&bytes=1000&chunked=1", ErrorKind::bad_response},
                {"/f?fail=garbage", ErrorKind::bad_response},
                {"/f?status=404&bytes=3", ErrorKind::none}};
  for (const auto& f : faults) {
    const auto out = fetch(f.target, 1, trusting(1));
    EXPECT_EQ(out.at(0).error, f.kind) << f.target << ": " << describe(out.at(0));
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, Tls, ::testing::ValuesIn(fetcher_names()),
                         iobench::test::model_test_name);

}  // namespace
