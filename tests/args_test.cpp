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
                 "coroutine,curl_multi",
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
  argv_builder help_value{"--help=yes"};
  EXPECT_THROW(parse_args(help_value.argc(), help_value.argv()), iobench::cli::usage_error);
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
  const auto selects = [&](const std::string& spec) {
    return benchmark_filter(spec).selects(name);
  };
  for (const char* all : {"", "all", "."}) EXPECT_TRUE(selects(all)) << all;
  EXPECT_TRUE(selects("close"));
  EXPECT_TRUE(selects("coroutine/.*concurrency:4"));
  EXPECT_FALSE(selects("curl_multi"));
  EXPECT_FALSE(selects("-close"));
  EXPECT_TRUE(selects("-curl_multi"));
  EXPECT_FALSE(selects("-")) << "an empty pattern matches everything; negated, nothing";
}

// Throws usage_error whose message contains `needle`.
template <class F>
void expect_usage_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected an error naming " << needle;
  } catch (const iobench::cli::usage_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Args, AFilterThatDoesNotCompileIsAUsageErrorNotACrash) {
  for (const char* spec : {"(", "-(", "a[", "*x"}) {
    expect_usage_error([&] { benchmark_filter f(spec); }, "--benchmark_filter");
  }
}

TEST(Args, AnEmptyOrRepeatedImplNameIsAUsageError) {
  for (const char* list : {",", "", "coroutine,", ",coroutine", "coroutine,,curl_multi"}) {
    argv_builder a{"--impls", list};
    expect_usage_error([&] { parse_args(a.argc(), a.argv()); }, "--impls: empty name");
  }
  argv_builder twice{"--impls", "coroutine", "--impls=coroutine"};
  expect_usage_error([&] { parse_args(twice.argc(), twice.argv()); }, "named twice");
}

TEST(Args, AFlagIsNotTheValueOfAnother) {
  argv_builder a{"--suite", "--impls", "coroutine"};
  expect_usage_error([&] { parse_args(a.argc(), a.argv()); }, "--suite: missing value");
  argv_builder server_args{"--server-args", "--threads 2", "--suite", "smoke"};
  const options o = parse_args(server_args.argc(), server_args.argv());
  EXPECT_EQ(o.server_args, (std::vector<std::string>{"--threads", "2"}))
      << "--server-args passes flags on";
  EXPECT_EQ(o.suite, "smoke");
}

TEST(Args, TlsFlagsAreTheSuitesOwn) {
  for (const char* flags : {"--tls", "--threads 2 --cert-out ca.pem", "--tls-tickets=off"}) {
    argv_builder a{"--server-args", flags};
    expect_usage_error([&] { parse_args(a.argc(), a.argv()); }, "is the suite's own");
  }
  argv_builder near{"--server-args", "--tlsx"};
  EXPECT_NO_THROW(parse_args(near.argc(), near.argv())) << "mock_server judges its own flags";
}

TEST(Args, TheServerIsAnHttpBaseUrl) {
  for (const char* bad : {"foo", "ftp://h:1", "http://h:99999", "http://h:0", "http://u:p@h:1",
                          "http://h:1/prefix", "http://h:1/?x=1", "http://h:1#top", "http://:1"}) {
    argv_builder a{"--server", bad};
    expect_usage_error([&] { parse_args(a.argc(), a.argv()); }, "--server");
  }
  argv_builder ok{"--server", "http://[::1]:8080/"};
  EXPECT_EQ(parse_args(ok.argc(), ok.argv()).server, "http://[::1]:8080");
}

TEST(Args, GoogleBenchmarkFlagsItWouldMishandleAreUsageErrors) {
  const auto check = [](std::vector<std::string> args) {
    args.insert(args.begin(), "prog");
    check_benchmark_flags(args);
  };
  for (const char* reps : {"-1", "0", "x", "99999999999", "10001"}) {
    expect_usage_error([&] { check({std::string("--benchmark_repetitions=") + reps}); },
                       "--benchmark_repetitions");
  }
  for (const char* t : {"-1", "nan", "inf", "1s"}) {
    expect_usage_error([&] { check({std::string("--benchmark_min_time=") + t}); },
                       "--benchmark_min_time");
    expect_usage_error([&] { check({std::string("--benchmark_min_warmup_time=") + t}); },
                       "--benchmark_min_warmup_time");
  }
  expect_usage_error([&] { check({"--benchmark_format=xml"}); }, "--benchmark_format");
  expect_usage_error([&] { check({"--benchmark_out_format=xml"}); }, "--benchmark_out_format");
  expect_usage_error([&] { check({"--benchmark_time_unit=h"}); }, "--benchmark_time_unit");
  expect_usage_error([&] { check({"--benchmark_color="}); }, "--benchmark_color");
  expect_usage_error(
      [&] {
        check({"--benchmark_repetitions=3", "--benchmark_repetitions=0"});
      },
      "got '0'");
  EXPECT_NO_THROW(
      check({"--benchmark_repetitions=0", "--benchmark_repetitions=3", "--benchmark_min_time=0.5",
             "--benchmark_min_warmup_time=0", "--benchmark_format=json",
             "--benchmark_out_format=csv", "--benchmark_time_unit=ms", "--benchmark_color=false",
             "--benchmark_filter=(", "--frobnicate"}))
      << "the last occurrence counts; other flags are not this check's business";
}

}  // namespace
