#include "common/units.hpp"

#include <gtest/gtest.h>

#include <array>

#include "common/cli.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using iobench::format_duration;
using iobench::format_size;
using iobench::parse_duration;
using iobench::parse_size;
using iobench::test::argv_builder;

TEST(Units, ParsesDurationsWithEveryUnit) {
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("100ms"), 100ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 120s);
  EXPECT_EQ(parse_duration("10ns"), 10ns);
  EXPECT_EQ(parse_duration("0"), 0ms);
  EXPECT_EQ(parse_duration("100"), 100ms) << "a bare number is milliseconds";
  EXPECT_EQ(parse_duration("0.5"), 500us);
}

TEST(Units, RejectsMalformedDurations) {
  for (const char* bad : {"", "-5ms", "ms", "5 ms", "5h", "1e3", "0x10", "abc", "1.2.3s", "+1s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Units, RejectsDurationsThatWouldOverflow) {
  // Nanoseconds in an int64 last ~292 years; a value past that must be refused, never wrapped.
  const std::string past_double = "1" + std::string(400, '0') + "s";
  for (const std::string& big :
       {std::string("9000000000s"), std::string("153722868m"), std::string("9223372036854775807ns"),
        std::string("99999999999999999999999999999999ms"), past_double}) {
    EXPECT_FALSE(parse_duration(big).has_value()) << big;
  }
  EXPECT_EQ(parse_duration("86400s"), std::chrono::hours{24});
  EXPECT_EQ(parse_duration("1000000000s"), std::chrono::seconds{1000000000}) << "~31 years is fine";
}

TEST(Units, ParsesSizesInBinaryUnits) {
  EXPECT_EQ(parse_size("512"), 512U);
  EXPECT_EQ(parse_size("4k"), 4096U);
  EXPECT_EQ(parse_size("4KiB"), 4096U);
  EXPECT_EQ(parse_size("1m"), 1048576U);
  EXPECT_EQ(parse_size("64MiB"), 64U << 20);
  EXPECT_EQ(parse_size("1g"), 1U << 30);
}

TEST(Units, RejectsMalformedSizes) {
  for (const char* bad :
       {"", "-1", "1.5k", "k", "4 k", "4x", "99999999999999999999", "18014398509481984g",
        "18446744073709551616", "17179869184GiB", "18014398509481984k"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(Units, FormatsWhatItParses) {
  for (std::chrono::nanoseconds d :
       {0ns, 1ns, 250000ns, 100000000ns, 1500000000ns, 60000000000ns}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
  for (std::uint64_t s : {0ULL, 512ULL, 4096ULL, 64ULL << 20, 1000ULL}) {
    EXPECT_EQ(parse_size(format_size(s)), s) << format_size(s);
  }
  EXPECT_EQ(format_duration(100ms), "100ms");
  EXPECT_EQ(format_size(64U << 20), "64MiB");
}

TEST(Cli, ReadsSeparateAndInlineValues) {
  argv_builder a{"--port", "80", "--delay=1.5s", "--bytes", "4k", "url"};
  iobench::cli::arg_reader r(a.argc(), a.argv());
  ASSERT_TRUE(r.next());
  ASSERT_TRUE(r.is("--port"));
  EXPECT_EQ(r.u64(0, 65535), 80U);
  ASSERT_TRUE(r.next());
  ASSERT_TRUE(r.is("--delay"));
  EXPECT_EQ(r.duration(), 1500ms);
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.size(), 4096U);
  ASSERT_TRUE(r.next());
  EXPECT_TRUE(r.positional());
  EXPECT_EQ(r.current(), "url");
  EXPECT_FALSE(r.next());
}

TEST(Cli, BadValuesAreUsageErrorsNamingTheFlag) {
  argv_builder a{"--port", "99999", "--delay", "soon", "--bytes", "lots", "--threads"};
  iobench::cli::arg_reader r(a.argc(), a.argv());
  using iobench::cli::usage_error;
  r.next();
  try {
    r.u64(0, 65535);
    FAIL() << "accepted 99999 as a port";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("--port"), std::string::npos) << e.what();
  }
  r.next();
  EXPECT_THROW(r.duration(), usage_error);
  r.next();
  EXPECT_THROW(r.size(), usage_error);
  r.next();
  EXPECT_THROW(r.value(), usage_error) << "a flag at the end has no value";
  EXPECT_THROW(r.unknown(), usage_error);
}

TEST(Cli, AFlagIsNotAValue) {
  using iobench::cli::usage_error;
  argv_builder a{"--impl", "-n", "5",      "--port",      "-1",
                 "--file", "-",  "--args", "--threads 2", "--impl=-x"};
  iobench::cli::arg_reader r(a.argc(), a.argv());
  ASSERT_TRUE(r.next());
  try {
    r.value();
    FAIL() << "took the flag -n as --impl's value";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("--impl: missing value"), std::string::npos) << e.what();
  }
  ASSERT_TRUE(r.next());
  EXPECT_TRUE(r.is("-n")) << "the flag is still there to be read";
  EXPECT_EQ(r.u64(), 5U);
  ASSERT_TRUE(r.next());
  EXPECT_THROW(r.u64(0, 65535), usage_error) << "-1 is a value, out of range";
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.value(), "-") << "a lone dash is a value";
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.verbatim_value(), "--threads 2") << "for flags that pass flags on";
  ASSERT_TRUE(r.next());
  EXPECT_EQ(r.value(), "-x") << "an inline value is what the user wrote";
  EXPECT_FALSE(r.next());
}

TEST(Cli, HelpRowsLineTheTextsUp) {
  const std::vector<iobench::cli::help_row> rows{{"a", "first"}, {"longer", "second"}};
  EXPECT_EQ(iobench::cli::format_help_rows(rows, 2), "  a       first\n  longer  second\n");
  EXPECT_EQ(iobench::cli::format_help_rows({}, 2), "");
}

}  // namespace
