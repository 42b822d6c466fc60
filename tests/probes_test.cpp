// The process probes read real values from /proc and getrusage; the CPU model from any cpuinfo.
#include "probes.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace {

using namespace iobench::bench;

TEST(Probes, CpuModelIsTheFirstModelNameLine) {
  EXPECT_EQ(cpu_model_from("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                           "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nmodel\t\t: 85\n\n"
                           "processor\t: 1\nmodel name\t: Other\n"),
            "Intel(R) Xeon(R) CPU @ 2.20GHz");
  EXPECT_EQ(cpu_model_from("processor : 0\nmodel : 85\n"), "unknown") << "'model' is not it";
  EXPECT_EQ(cpu_model_from("model name\t:\n"), "unknown");
  EXPECT_EQ(cpu_model_from(""), "unknown");
  EXPECT_FALSE(cpu_model().empty());
}

TEST(Probes, ReadTheProcessItself) {
  EXPECT_GT(rss_mib(), 0);
  EXPECT_GE(peak_rss_mib(), rss_mib() * 0.5);
  EXPECT_FALSE(status_field("NoSuchField:").has_value());
  const double before = thread_count();
  EXPECT_GE(before, 1);
  std::thread t([&] { EXPECT_EQ(thread_count(), before + 1); });
  t.join();
}

TEST(Probes, CpuTimeAddsUserAndSystem) {
  rusage u{};
  u.ru_utime = {1, 500000};
  u.ru_stime = {2, 250000};
  EXPECT_DOUBLE_EQ(cpu_seconds(u), 3.75);
  const double t0 = process_cpu_s();
  volatile double sink = 0;
  for (int i = 0; i < 20'000'000; ++i) sink = sink + i;
  EXPECT_GE(process_cpu_s(), t0);
}

}  // namespace
