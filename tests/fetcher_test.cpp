// One suite, every fetcher: each test runs once per name in fetcher_names(), against a real mock
// server on port 0, and again over https for each model that speaks it. Concurrency is proven by
// the server's max_in_flight, reuse by its connections_accepted; nothing here asserts how long
// anything took.
#include "impls/fetcher.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <set>

#include "impls/response_work.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench;
using iobench::test::eventually;
using iobench::test::running_server;

class Fetchers : public iobench::test::scheme_test {
 protected:
  [[nodiscard]] bool one_at_a_time() const { return find_model(model())->one_at_a_time; }
  /// The concurrency a fetcher really gets when asked for `c`.
  [[nodiscard]] std::size_t effective(std::size_t c) const { return one_at_a_time() ? 1 : c; }

  std::unique_ptr<Fetcher> make(Options o = {}) { return make_fetcher(model(), trusting(o)); }

  static std::vector<Request> repeat(const std::string& url, std::size_t n) {
    return std::vector<Request>(n, Request{url});
  }
};

std::string describe(const Outcome& o) {
  return "status=" + std::to_string(o.status) + " error=" + std::string(to_string(o.error)) +
         " detail=" + o.detail;
}

TEST_P(Fetchers, BodiesAndStatusesAreRight) {
  running_server s(config());
  const std::string u = s.url();
  const std::vector<Request> reqs{{u + "/a?bytes=0"},
                                  {u + "/a?bytes=1"},
                                  {u + "/a?bytes=100000"},
                                  {u + "/a?bytes=300000&chunked=1"},
                                  {u + "/a?status=404&bytes=9"},
                                  {u + "/a?status=503"},
                                  {u + "/a?status=204"}};
  Options o;
  o.concurrency = 3;
  const auto out = make(o)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  const std::vector<std::pair<int, std::size_t>> want{
      {200, 0}, {200, 1}, {200, 100000}, {200, 300000}, {404, 9}, {503, 0}, {204, 0}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(out[i].error, ErrorKind::none) << i << ": " << describe(out[i]);
    EXPECT_EQ(out[i].status, want[i].first) << i;
    EXPECT_EQ(out[i].body_bytes, want[i].second) << i;
    EXPECT_LE(out[i].start, out[i].end);
  }
  EXPECT_TRUE(out[0].succeeded());
  EXPECT_FALSE(out[4].succeeded()) << "404 is a response, but not a success";
}

TEST_P(Fetchers, OutcomesComeBackInRequestOrder) {
  running_server s(config());
  // Later requests finish first (shorter delays), each is told apart by its body length.
  std::vector<Request> reqs;
  constexpr int kN = 40;
  for (int i = 0; i < kN; ++i) {
    reqs.push_back({s.url() + "/o?bytes=" + std::to_string(i) +
                    "&delay=" + std::to_string((kN - i) * 2) + "ms"});
  }
  Options o;
  o.concurrency = 8;
  const auto out = make(o)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(out[static_cast<std::size_t>(i)].error, ErrorKind::none)
        << describe(out[static_cast<std::size_t>(i)]);
    EXPECT_EQ(out[static_cast<std::size_t>(i)].body_bytes, static_cast<std::size_t>(i));
  }
}

TEST_P(Fetchers, EveryFaultIsAValueOfTheRightKind) {
  running_server s(config());
  const std::string u = s.url();
  // A port nobody listens on: bind one, note it, close it.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(probe);
  const std::string refused = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";

  const std::vector<std::pair<std::string, ErrorKind>> cases{
      {u + "/f?bytes=10", ErrorKind::none},
      {u + "/f?fail=reset", ErrorKind::reset},
      {u + "/f?bytes=10", ErrorKind::none},
      {u + "/f?fail=close", ErrorKind::reset},
      {u + "/f?fail=truncate&bytes=10000", ErrorKind::bad_response},
      {u + "/f?fail=truncate&bytes=1000&chunked=1", ErrorKind::bad_response},
      {u + "/f?fail=garbage", ErrorKind::bad_response},
      {u + "/f?fail=hang", ErrorKind::timeout},
      {u + "/f?bytes=100&drip=5s", ErrorKind::timeout},
      {refused, ErrorKind::connect},
      {"http://127.0.0.1:0/", ErrorKind::connect},
      {"http://127.0.0.1:99999/", ErrorKind::connect},
      {"not a url", ErrorKind::connect},
      {"ftp://127.0.0.1/x", ErrorKind::connect},
      {u + "/f?bytes=10", ErrorKind::none},
  };
  std::vector<Request> reqs;
  for (const auto& [url, kind] : cases) reqs.push_back({url});
  for (std::size_t c : {1UL, 4UL}) {
    Options o;
    o.concurrency = c;
    o.timeout = 500ms;
    const auto out = make(o)->fetch_all(reqs);
    ASSERT_EQ(out.size(), reqs.size()) << "nothing lost";
    for (std::size_t i = 0; i < cases.size(); ++i) {
      EXPECT_EQ(out[i].error, cases[i].second)
          << "c=" << c << " " << cases[i].first << ": " << describe(out[i]);
      if (out[i].error != ErrorKind::none) {
        EXPECT_FALSE(out[i].detail.empty()) << cases[i].first;
        EXPECT_EQ(out[i].status, 0) << cases[i].first;
      }
    }
  }
}

TEST_P(Fetchers, ConnectTimeoutHolds) {
  // A listener whose accept queue is full drops further SYNs: connecting can only time out.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // fill the queue; extra connects just stay pending
    int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(f);
  }
  Options o;
  o.concurrency = 2;
  o.connect_timeout = 300ms;
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  const auto out = make(o)->fetch_all(repeat(url, 3));
  ASSERT_EQ(out.size(), 3U);
  for (const auto& r : out) EXPECT_EQ(r.error, ErrorKind::connect) << describe(r);
  for (int f : fillers) ::close(f);
  ::close(lfd);
}

TEST_P(Fetchers, AtMostConcurrencyRequestsAreInFlight) {
  for (std::size_t c : {1UL, 3UL, 16UL}) {
    running_server s(config());  // its own, so that its peak is this batch's
    Options o;
    o.concurrency = c;
    // Three full waves: enough to reach the limit and to show it is never passed.
    const auto out = make(o)->fetch_all(repeat(s.url() + "/c?delay=100ms", 3 * effective(c)));
    for (const auto& r : out) ASSERT_TRUE(r.succeeded()) << describe(r);
    EXPECT_EQ(s.stats().max_in_flight, static_cast<std::int64_t>(effective(c))) << "c=" << c;
  }
}

TEST_P(Fetchers, KeepAliveReusesConnectionsWithinABatchAndClosesThemAfter) {
  running_server s(config());
  Options o;
  o.concurrency = 4;
  auto f = make(o);
  const auto out = f->fetch_all(repeat(s.url() + "/k?delay=20ms&bytes=10", 40));
  for (const auto& r : out) ASSERT_TRUE(r.succeeded()) << describe(r);
  EXPECT_EQ(s.stats().connections_accepted, effective(4));
  EXPECT_EQ(s.stats().requests, 40U);
  EXPECT_TRUE(eventually([&] { return s.stats().connections_open == 0; }))
      << "connections close when the batch ends; open: " << s.stats().connections_open;
  // The same fetcher runs a second batch on new connections.
  const auto again = f->fetch_all(repeat(s.url() + "/k?delay=20ms&bytes=10", 40));
  for (const auto& r : again) ASSERT_TRUE(r.succeeded()) << describe(r);
  EXPECT_EQ(s.stats().connections_accepted, 2 * effective(4));
  EXPECT_TRUE(eventually([&] { return s.stats().connections_open == 0; }));
}

TEST_P(Fetchers, EachRequestSaysWhetherItConnectedAndWhenItsResponseBegan) {
  running_server s(config());
  Options o;
  o.concurrency = 4;
  for (const bool keep_alive : {true, false}) {
    o.keep_alive = keep_alive;
    const auto before = s.stats().connections_accepted;
    const auto out = make(o)->fetch_all(repeat(s.url() + "/p?delay=20ms&bytes=10", 24));
    std::size_t connected = 0;
    for (const auto& r : out) {
      ASSERT_TRUE(r.succeeded()) << describe(r);
      if (r.new_connection) {
        ++connected;
        EXPECT_GT(r.connect_time, Clock::duration::zero());
        EXPECT_LE(r.connect_time, r.first_byte);
      }
      // The server holds each response for its delay, so the first byte cannot come sooner.
      EXPECT_GE(r.first_byte, std::chrono::milliseconds(20)) << "keep-alive " << keep_alive;
      EXPECT_LE(r.first_byte, r.latency());
    }
    EXPECT_EQ(connected, s.stats().connections_accepted - before) << "keep-alive " << keep_alive;
  }
  // A request that never got a byte has no first byte.
  o.keep_alive = true;
  const auto refused = make(o)->fetch_all(repeat("http://127.0.0.1:0/x", 2));
  for (const auto& r : refused) {
    EXPECT_EQ(r.error, ErrorKind::connect) << describe(r);
    EXPECT_FALSE(r.new_connection);
    EXPECT_EQ(r.first_byte, Clock::duration::zero());
  }
}

TEST_P(Fetchers, WithoutKeepAliveEachRequestHasItsOwnConnection) {
  running_server s(config());
  Options o;
  o.concurrency = 4;
  o.keep_alive = false;
  const auto out = make(o)->fetch_all(repeat(s.url() + "/n?bytes=10", 30));
  for (const auto& r : out) ASSERT_TRUE(r.succeeded()) << describe(r);
  EXPECT_EQ(s.stats().connections_accepted, 30U);
  EXPECT_EQ(s.stats().requests, 30U);
  EXPECT_TRUE(eventually([&] { return s.stats().connections_open == 0; }));
}

TEST_P(Fetchers, TwoThousandRequestsAtConcurrency500AllSucceed) {
  running_server s(config());
  Options o;
  o.concurrency = 500;
  std::atomic<std::size_t> completed{0};
  o.completed = &completed;
  auto f = make(o);
  // The delay must outlast opening 500 connections (also under ASan; over https, 500 handshakes
  // too), or the first wave ends before the last request starts. A model that runs one request
  // at a time gets a short batch: 2000 x 300 ms is 10 minutes.
  const std::size_t n = one_at_a_time() ? 10 : https() ? 1000 : 2000;
  const std::string delay = https() ? "2s" : "300ms";
  const auto out = f->fetch_all(repeat(s.url() + "/big?delay=" + delay + "&bytes=64", n));
  ASSERT_EQ(out.size(), n);
  std::size_t ok = 0;
  for (const auto& r : out) ok += r.succeeded() && r.body_bytes == 64;
  EXPECT_EQ(ok, n) << describe(
      *std::find_if(out.begin(), out.end(), [](const Outcome& r) { return !r.succeeded(); }));
  EXPECT_EQ(completed.load(), n);
  EXPECT_EQ(s.stats().max_in_flight, static_cast<std::int64_t>(effective(500)));
  EXPECT_EQ(s.stats().requests, n) << "no request was sent twice";
}

TEST_P(Fetchers, WorkAndBlockFollowEachCompleteResponseAndNoFailure) {
  running_server s(config());
  Options o;
  o.concurrency = 3;
  o.work = 20us;
  o.block = 1ms;
  std::vector<Request> reqs = repeat(s.url() + "/w?bytes=100", 7);
  reqs.push_back({"http://127.0.0.1:1/refused"});  // port 1: nobody listens there
  reqs.push_back({s.url() + "/w?fail=reset"});
  const auto before = responses_worked();
  const auto out = make(o)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  std::size_t complete = 0;
  for (const auto& r : out) complete += r.error == ErrorKind::none ? 1 : 0;
  EXPECT_EQ(complete, 7U);
  EXPECT_EQ(responses_worked() - before, complete);
}

TEST_P(Fetchers, RefusesNegativeWorkOrBlock) {
  Options o;
  o.work = -1ns;
  EXPECT_THROW(make(o), std::invalid_argument);
  o.work = 0ns;
  o.block = -1ms;
  EXPECT_THROW(make(o), std::invalid_argument);
}

TEST_P(Fetchers, EmptyBatchIsEmpty) { EXPECT_TRUE(make()->fetch_all({}).empty()); }

TEST_P(Fetchers, RejectsZeroConcurrency) {
  Options o;
  o.concurrency = 0;
  EXPECT_THROW(make_fetcher(model(), o), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Fetchers, test::schemes(), test::scheme_test_name);

TEST(Registry, HasTheFourModelsDesignNames) {
  for (const char* name : {"sequential", "thread_pool", "coroutine", "curl_multi"}) {
    EXPECT_NE(find_model(name), nullptr) << name;
  }
}

TEST(Registry, NamesAreUniqueWellFormedAndServedInOrder) {
  constexpr std::size_t kMaxSummary = 64;
  const std::regex well_formed("[A-Za-z0-9_.-]+");
  const auto names = fetcher_names();
  ASSERT_EQ(names.size(), models().size());
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const model_info& m = models()[i];
    EXPECT_EQ(names[i], m.name);
    EXPECT_TRUE(std::regex_match(std::string(m.name), well_formed)) << m.name;
    EXPECT_TRUE(seen.insert(m.name).second) << "twice: " << m.name;
    EXPECT_FALSE(m.summary.empty()) << m.name;
    EXPECT_EQ(m.summary.find('\n'), std::string_view::npos) << "one line: " << m.name;
    EXPECT_LE(m.summary.size(), kMaxSummary) << "help texts keep to 100 columns: " << m.name;
    EXPECT_EQ(find_model(m.name), &m);
  }
}

TEST(Registry, EveryModelHasItsFactors) {
  const std::set<std::string_view> libraries{"libcurl", "beast", "own"};
  const std::set<std::string_view> mechanisms{"one_at_a_time", "thread_per_request", "event_loop",
                                              "event_loop_per_core"};
  const std::set<std::string_view> interfaces{"blocking", "epoll", "io_uring"};
  for (const auto& m : models()) {
    EXPECT_TRUE(libraries.count(m.library)) << m.name << ": " << m.library;
    EXPECT_TRUE(mechanisms.count(m.mechanism)) << m.name << ": " << m.mechanism;
    EXPECT_TRUE(interfaces.count(m.interface)) << m.name << ": " << m.interface;
    // The flags the callers act on agree with the factors.
    EXPECT_EQ(m.one_at_a_time, m.mechanism == "one_at_a_time") << m.name;
    EXPECT_EQ(m.thread_per_request, m.mechanism == "thread_per_request") << m.name;
  }
}

TEST(Registry, HasExactlyOneBaseline) {
  std::size_t baselines = 0;
  for (const auto& m : models()) baselines += m.baseline ? 1 : 0;
  EXPECT_EQ(baselines, 1U);
}

TEST(ResponseWork, PassesFollowTheCalibration) {
  EXPECT_EQ(work_passes(0ns), 0U);
  EXPECT_GE(work_passes(1ns), 1U);  // any work is at least one pass
  const auto pass = work_pass_time();
  EXPECT_GT(pass.count(), 0);
  EXPECT_EQ(work_pass_time(), pass) << "calibrated once per process";
  EXPECT_EQ(work_passes(pass * 10), 10U);
  EXPECT_GE(work_passes(2ms), work_passes(1ms));
  EXPECT_EQ(run_work_passes(3), run_work_passes(3)) << "the same work every time";
  EXPECT_NE(run_work_passes(1), run_work_passes(2));
}

TEST(Registry, RejectsUnknownNames) {
  EXPECT_EQ(find_model("carrier_pigeon"), nullptr);
  EXPECT_THROW(make_fetcher("carrier_pigeon", {}), std::invalid_argument);
}

}  // namespace
