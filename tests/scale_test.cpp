// Every model holds thousands of requests at once: one batch of N = C = 5,000 per fetcher against a
// real in-process mock server on port 0, and every request must succeed. Nothing here asserts how
// long anything took; the scale suite measures that.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "common/open_files.hpp"
#include "impls/fetcher.hpp"
#include "mock_server/server.hpp"
#include "test_support.hpp"

namespace {

using namespace iobench;
using iobench::test::eventually;
using iobench::test::running_server;

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer every thread, allocation and syscall costs several times more, and the
// asan preset runs beside the other test binaries: 1,000 at once still exercises the same paths.
constexpr std::size_t kBatch = 1000;
#else
constexpr std::size_t kBatch = 5000;
#endif
// A model that runs one request at a time: a few are enough to show it completes.
constexpr std::size_t kSequentialBatch = 10;
// Descriptors the test process needs besides the connections (gtest, the server's loops, ...).
constexpr std::uint64_t kSpareDescriptors = 256;

class Scale : public iobench::test::model_test {};

TEST_P(Scale, ABatchOfThousandsAtOnceAllSucceeds) {
  // In-process, every request holds a descriptor at each end; thread_pool's workers hold two more
  // each (libcurl's per-handle socketpair) and wait for descriptors when they run out.
  const std::uint64_t limit = raise_open_file_limit();
  std::size_t n = find_model(GetParam())->one_at_a_time ? kSequentialBatch : kBatch;
  const std::uint64_t fits = limit > kSpareDescriptors ? (limit - kSpareDescriptors) / 2 : 0;
  if (n > fits) {
    std::cout << "RLIMIT_NOFILE is " << limit << ": running " << fits << " at once, not " << n
              << '\n';
    n = static_cast<std::size_t>(fits);
  }
  ASSERT_GT(n, 0U);

  running_server s;  // one event loop per CPU, each with its own accept queue
  const auto overflows = s.stats().listen_overflows;
  Options o;
  o.concurrency = n;
  const auto out = make_fetcher(GetParam(), o)
                       ->fetch_all(std::vector<Request>(n, Request{s.url() + "/x?delay=100ms"}));

  ASSERT_EQ(out.size(), n);
  const auto failed =
      std::find_if(out.begin(), out.end(), [](const Outcome& r) { return !r.succeeded(); });
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const Outcome& r) { return r.succeeded(); }),
            static_cast<std::ptrdiff_t>(n))
      << "first failure: " << (failed == out.end() ? std::string() : failed->detail);
  EXPECT_EQ(s.stats().requests, n) << "no request was sent twice";
  if (overflows >= 0) {
    EXPECT_EQ(s.stats().listen_overflows, overflows)
        << "a burst of " << n << " connects overflowed a listen queue (TcpExtListenOverflows)";
  }
  EXPECT_TRUE(eventually([&] { return s.stats().connections_open == 0; }))
      << "connections close when the batch ends; open: " << s.stats().connections_open;
}

INSTANTIATE_TEST_SUITE_P(AllModels, Scale, ::testing::ValuesIn(fetcher_names()),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
