// The CPU partition between the suite's server and its client: cpu-list syntax and the plan.
#include "cpus.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using namespace iobench::bench;
using iobench::allowed_cpus;

TEST(CpuList, ParsesLinuxSyntaxAndFoldsItBack) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11"), (cpu_list{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("5"), (cpu_list{5}));
  EXPECT_EQ(parse_cpu_list("3,1,1-2"), (cpu_list{1, 2, 3})) << "sorted, no duplicates";
  EXPECT_EQ(format_cpu_list(cpu_list{0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(format_cpu_list(cpu_list{}), "");
  for (const char* bad : {"", "a", "1-", "-1", "3-1", "1,,2", "0-99999", "1.5"}) {
    EXPECT_THROW(parse_cpu_list(bad), std::invalid_argument) << "'" << bad << "'";
  }
}

TEST(Partition, ByDefaultTheServerGetsTheFirstHalf) {
  const auto p = plan_partition({0, 1, 2, 3, 4, 5, 6, 7}, {}, {}, false, true);
  EXPECT_EQ(p.server, (cpu_list{0, 1, 2, 3}));
  EXPECT_EQ(p.client, (cpu_list{4, 5, 6, 7}));
  const auto two = plan_partition({0, 1}, {}, {}, false, true);
  EXPECT_EQ(two.server, (cpu_list{0}));
  EXPECT_EQ(two.client, (cpu_list{1}));
  const auto odd = plan_partition({2, 3, 5}, {}, {}, false, true);
  EXPECT_EQ(odd.server, (cpu_list{2})) << "at least one, rounding down";
  EXPECT_EQ(odd.client, (cpu_list{3, 5}));
}

TEST(Partition, OneListGivenTheOtherSideGetsTheRest) {
  const auto s = plan_partition({0, 1, 2, 3}, cpu_list{0}, {}, false, true);
  EXPECT_EQ(s.client, (cpu_list{1, 2, 3}));
  const auto c = plan_partition({0, 1, 2, 3}, {}, cpu_list{3}, false, true);
  EXPECT_EQ(c.server, (cpu_list{0, 1, 2}));
}

TEST(Partition, AnExternalServerLeavesEveryCpuToTheClient) {
  const auto p = plan_partition({0, 1, 2, 3}, {}, {}, false, false);
  EXPECT_TRUE(p.server.empty());
  EXPECT_EQ(p.client, (cpu_list{0, 1, 2, 3}));
}

TEST(Partition, NoPinOrOneCpuPinsNothingAndSaysWhy) {
  const auto off = plan_partition({0, 1, 2, 3}, {}, {}, true, true);
  EXPECT_TRUE(off.server.empty() && off.client.empty());
  EXPECT_NE(off.note.find("--no-pin"), std::string::npos) << off.note;
  const auto one = plan_partition({7}, {}, {}, false, true);
  EXPECT_TRUE(one.server.empty() && one.client.empty());
  EXPECT_NE(one.note.find("one CPU"), std::string::npos) << one.note;
}

TEST(Partition, RejectsListsOutsideTheMaskOverlappingOrLeavingNothing) {
  EXPECT_THROW(plan_partition({0, 1}, cpu_list{2}, {}, false, true), std::invalid_argument);
  EXPECT_THROW(plan_partition({0, 1, 2}, cpu_list{0, 1}, cpu_list{1, 2}, false, true),
               std::invalid_argument);
  EXPECT_THROW(plan_partition({0, 1}, cpu_list{0, 1}, {}, false, true), std::invalid_argument)
      << "no CPU left for the client";
}

TEST(Pinning, TheCallingThreadRunsWhereItIsTold) {
  const auto allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  pin_to(cpu_list{allowed.back()});
  EXPECT_EQ(allowed_cpus(), (cpu_list{allowed.back()}));
  pin_to(allowed);
  EXPECT_EQ(allowed_cpus(), allowed);
}

}  // namespace
