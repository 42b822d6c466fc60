// The preflight checks: URLs every model reads alike, and the verdict on a batch against a
// machine's limits (a made-up machine, so every limit can be the one that refuses).
#include "preflight.hpp"

#include <gtest/gtest.h>

#include "common/cli.hpp"

namespace {

using namespace iobench::bench;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = 1 << 30;

headroom limit(std::uint64_t left, std::string name) { return {left, std::move(name), "raise it"}; }

machine_headroom roomy_machine() {
  machine_headroom m;
  m.threads = {limit(30000, "kernel.pid_max = 32,768")};
  m.descriptors = {limit(20000, "the open-file limit (ulimit -n) = 20,000")};
  m.memory = {limit(16 * kGiB, "MemAvailable (/proc/meminfo) = 16.0 GiB")};
  m.stack_bytes = 8 * kMiB;
  m.cpus = 1;
  return m;
}

batch_needs batch(std::uint64_t threads, std::uint64_t descriptors, std::uint64_t memory) {
  return {"-c X", threads, descriptors, memory};
}

TEST(Preflight, ABatchWithinEveryLimitPasses) {
  EXPECT_EQ(refuse(batch(1000, 3064, 100 * kMiB), roomy_machine()), std::nullopt);
  EXPECT_EQ(refuse(batch(0, 64, 0), machine_headroom{}), std::nullopt) << "nothing limits";
}

TEST(Preflight, TooManyThreadsNamesTheLimitAndHowToRaiseIt) {
  const auto why = refuse(batch(100000, 100, 0), roomy_machine());
  ASSERT_TRUE(why);
  EXPECT_EQ(*why,
            "-c X needs 100,000 threads, but kernel.pid_max = 32,768 leaves 30,000 threads; "
            "raise it");
}

TEST(Preflight, TheFirstLimitExceededIsTheOneNamed) {
  auto m = roomy_machine();
  m.threads.push_back(limit(10, "the cgroup's pids.max = 64"));
  const auto why = refuse(batch(20, 100, 0), m);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("pids.max"), std::string::npos) << *why;
}

TEST(Preflight, DescriptorsMemoryAndAddressSpaceEachRefuse) {
  auto why = refuse(batch(0, 30000, 0), roomy_machine());
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("needs 30,000 descriptors, but the open-file limit"), std::string::npos)
      << *why;

  why = refuse(batch(0, 100, 20 * kGiB), roomy_machine());
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("needs 20.0 GiB of memory, but MemAvailable"), std::string::npos) << *why;

  // 100 threads: 800 MiB of stacks, 8 malloc arenas of 64 MiB (one CPU), 100 x 64 KiB resident.
  auto m = roomy_machine();
  m.address_space = {limit(kGiB, "RLIMIT_AS (ulimit -v) = 1.0 GiB")};
  why = refuse(batch(100, 100, 0), m);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("needs 1.3 GiB of address space (8.0 MiB of stack a thread), but RLIMIT_AS"),
            std::string::npos)
      << *why;
  m.address_space = {limit(2 * kGiB, "RLIMIT_AS (ulimit -v) = 2.0 GiB")};
  EXPECT_EQ(refuse(batch(100, 100, 0), m), std::nullopt);

  m.commit = {limit(512 * kMiB, "strict overcommit")};
  why = refuse(batch(100, 100, 0), m);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("of committable memory"), std::string::npos) << *why;
}

TEST(Preflight, ThisMachineHasLimitsToReport) {
  const auto m = read_machine_headroom();
  EXPECT_GT(m.stack_bytes, 0U);
  EXPECT_GE(m.cpus, 1U);
  EXPECT_FALSE(m.threads.empty()) << "kernel.threads-max and pid_max at least";
  EXPECT_FALSE(m.memory.empty()) << "MemAvailable at least";
  for (const auto& h : m.threads) EXPECT_GT(h.left, 0U) << h.name;
  EXPECT_EQ(refuse(batch(4, 100, kMiB), m), std::nullopt) << "a small batch fits anywhere";
}

TEST(Preflight, UrlsEveryModelReadsAlike) {
  using iobench::cli::usage_error;
  for (const char* ok : {"http://127.0.0.1:8080/x?delay=1ms", "http://h/", "http://[::1]:1/a"}) {
    EXPECT_NO_THROW(check_http_url(ok, "URL", false)) << ok;
  }
  for (const char* bad :
       {"", "127.0.0.1:80", "https://h/", "http://:80/", "http://h:0/", "http://h:65536/",
        "http://h:99999999999999999999/", "http://u@h/", "http://u:p@h/", "http://h/#x"}) {
    EXPECT_THROW(check_http_url(bad, "URL", false), usage_error) << bad;
  }
  EXPECT_NO_THROW(check_http_url("https://h:1/x", "URL", false, true));
  EXPECT_THROW(check_http_url("ftp://h:1/x", "URL", false, true), usage_error);
  EXPECT_THROW(check_http_url("https://u@h/x", "URL", false, true), usage_error);
  EXPECT_NO_THROW(check_http_url("http://h:1", "--server", true));
  EXPECT_THROW(check_http_url("http://h:1/x", "--server", true), usage_error);
  EXPECT_THROW(check_http_url("http://h:1?x", "--server", true), usage_error);
}

TEST(Preflight, BytesReadAsPeopleWriteThem) {
  EXPECT_EQ(human_bytes(12), "12 bytes");
  EXPECT_EQ(human_bytes(640 << 10), "640.0 KiB");
  EXPECT_EQ(human_bytes(3 * kGiB / 2), "1.5 GiB");
}

}  // namespace
