// Options::observer, for every fetcher: each request's Outcome is reported once, final, before
// fetch_all returns (iobench-fetch summarises an interrupted batch from these reports).
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <tuple>

#include "impls/fetcher.hpp"
#include "impls/open_loop.hpp"
#include "test_support.hpp"

namespace {

using namespace iobench;
using iobench::test::running_server;
using namespace std::chrono_literals;

using key = std::tuple<Clock::time_point, Clock::time_point, int, std::size_t, ErrorKind>;

key key_of(const Outcome& o) { return {o.start, o.end, o.status, o.body_bytes, o.error}; }

class recorder final : public outcome_observer {
 public:
  void finished(const Outcome& o) noexcept override {
    std::lock_guard lock(mutex_);
    seen_.push_back(key_of(o));
    ended_.push_back(o.intended);
  }
  void sent(Clock::time_point intended, Clock::time_point at) noexcept override {
    std::lock_guard lock(mutex_);
    sent_.push_back({intended, at});
    sent_before_end_ = sent_before_end_ && std::count(ended_.begin(), ended_.end(), intended) == 0;
  }
  std::vector<key> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::vector<send_record> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  bool sent_before_end() {
    std::lock_guard lock(mutex_);
    return sent_before_end_;
  }

 private:
  std::mutex mutex_;
  std::vector<key> seen_;
  std::vector<Clock::time_point> ended_;
  std::vector<send_record> sent_;
  bool sent_before_end_ = true;
};

class Observed : public iobench::test::model_test {};

TEST_P(Observed, EveryOutcomeIsReportedOnceAsReturned) {
  running_server s;
  const std::string u = s.url();
  std::vector<Request> reqs;
  for (int i = 0; i < 4; ++i) {
    for (const char* q :
         {"bytes=10", "status=404&bytes=3", "bytes=5000&chunked=1", "fail=reset", "delay=5ms"}) {
      reqs.push_back({u + "/x?" + q});
    }
  }
  recorder r;
  std::atomic<std::size_t> completed{0};
  Options o;
  o.concurrency = 3;
  o.observer = &r;
  o.completed = &completed;
  const auto out = make_fetcher(GetParam(), o)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  auto seen = r.seen();
  std::vector<key> returned;
  for (const auto& x : out) returned.push_back(key_of(x));
  std::sort(seen.begin(), seen.end());
  std::sort(returned.begin(), returned.end());
  EXPECT_EQ(seen, returned) << "the observer saw exactly what fetch_all returned";
  EXPECT_EQ(completed.load(), reqs.size()) << "and the counter agrees";
}

TEST_P(Observed, OpenLoopSendsAreReportedOnceBeforeTheyEnd) {
  running_server s;
  const std::vector<Request> reqs(12, Request{s.url() + "/x?delay=5ms"});
  const auto sched = make_schedule(Clock::now() + 10ms, 400, 30ms, arrival::constant);
  ASSERT_EQ(sched.size(), reqs.size());
  recorder r;
  Options o;
  o.concurrency = 3;
  o.observer = &r;
  const auto out = make_fetcher(GetParam(), o)->fetch_schedule(reqs, sched, {});
  ASSERT_EQ(out.outcomes.size(), reqs.size());
  auto sent = r.sent();
  ASSERT_EQ(sent.size(), reqs.size()) << "one report per request sent";
  std::sort(sent.begin(), sent.end(),
            [](const send_record& a, const send_record& b) { return a.intended < b.intended; });
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].intended, sched[i]) << i;
    EXPECT_LE(sent[i].at, out.outcomes[i].start) << i << ": reported as it went";
    EXPECT_GE(sent[i].at, sched[i]) << i << ": never before its time";
  }
  EXPECT_TRUE(r.sent_before_end());
  EXPECT_EQ(r.seen().size(), reqs.size());
}

INSTANTIATE_TEST_SUITE_P(Fetchers, Observed, ::testing::ValuesIn(fetcher_names()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
