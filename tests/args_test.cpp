// iobench's command line: its own flags, what it hands to Google Benchmark, its help text, and
// the filter rule it counts progress with.
#include "args.hpp"

#include <gtest/gtest.h>

#include "common/cli.hpp"
#include "suite.hpp"
#include "test_support.hpp"

namespace {

using namespace iobench::bench;
using iobench::test::argv_builder;

TEST(Args, ReadsItsOwnFlagsInBothForms) {
  argv_builder a{"--suite",
                 "quick",
                 "--server=http://h:1//",
                 "--impls",
                 "coroutine,,curl_multi",
                 "--impls=sequential",
                 "--server-args",
                 " --threads  2 ",
                 "--server-args=-x"};
  const options o = parse_args(a.argc(), a.argv());
  EXPECT_EQ(o.suite, "quick");
  EXPECT_EQ(o.server, "http://h:1") << "trailing slashes go";
  EXPECT_EQ(o.impls, (std::vector<std::string>{"coroutine", "curl_multi", "sequential"}));
  EXPECT_EQ(o.server_args, (std::vector<std::string>{"--threads", "2", "-x"}));
  EXPECT_EQ(o.benchmark_args, (std::vector<std::string>{"prog"}));
  EXPECT_FALSE(o.help);
}

TEST(Args, HandsEverythingElseToGoogleBenchmarkInOrder) {
  argv_builder a{"--benchmark_filter=close", "--suite=smoke", "--benchmark_out=r.json",
                 "--frobnicate"};
  const options o = parse_args(a.argc(), a.argv());
  EXPECT_EQ(o.suite, "smoke");
  EXPECT_EQ(o.benchmark_args, (std::vector<std::string>{"prog", "--benchmark_filter=close",
                                                        "--benchmark_out=r.json", "--frobnicate"}));
}

TEST(Args, HelpAndMissingValues) {
  argv_builder help{"--suite", "ci", "-h"};
  EXPECT_TRUE(parse_args(help.argc(), help.argv()).help);
  argv_builder missing{"--impls"};
  EXPECT_THROW(parse_args(missing.argc(), missing.argv()), iobench::cli::usage_error);
}

TEST(Args, HelpListsEveryImplWithItsSummaryAndEverySuite) {
  const std::string text = help_text();
  for (const auto& i : all_impls()) {
    EXPECT_NE(text.find(std::string(i.info.name) + "  "), std::string::npos) << i.info.name;
    EXPECT_NE(text.find(i.info.summary), std::string::npos) << i.info.name;
  }
  for (const auto s : suite_names()) EXPECT_NE(text.find(s), std::string::npos) << s;
  for (const char* flag : {"--suite", "--server", "--impls", "--server-args", "--help"}) {
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
  }
}

TEST(Args, FilterSelectsLikeGoogleBenchmark) {
  const std::string name = "fetch/coroutine/requests:10/delay_ms:0/concurrency:4/bytes:0/close";
  for (const char* all : {"", "all", "."}) EXPECT_TRUE(filter_selects(name, all)) << all;
  EXPECT_TRUE(filter_selects(name, "close"));
  EXPECT_TRUE(filter_selects(name, "coroutine/.*concurrency:4"));
  EXPECT_FALSE(filter_selects(name, "curl_multi"));
  EXPECT_FALSE(filter_selects(name, "-close"));
  EXPECT_TRUE(filter_selects(name, "-curl_multi"));
}

}  // namespace
