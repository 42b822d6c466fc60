#include "mock_server/behaviour.hpp"

#include <gtest/gtest.h>

#include "mock_server/server.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench::mock;

behaviour parse_ok(std::string_view query, const behaviour& defaults = {}) {
  auto r = parse_behaviour(query, defaults, limits{});
  if (auto* err = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << query << " -> " << *err;
    return {};
  }
  return std::get<behaviour>(r);
}

std::string parse_error(std::string_view query, const limits& lim = {}) {
  auto r = parse_behaviour(query, {}, lim);
  if (auto* err = std::get_if<std::string>(&r)) return *err;
  ADD_FAILURE() << query << " was accepted";
  return {};
}

TEST(Behaviour, EmptyQueryKeepsTheDefaults) {
  behaviour d;
  d.delay = 7ms;
  d.bytes = 99;
  const auto b = parse_ok("", d);
  EXPECT_EQ(b.delay, 7ms);
  EXPECT_EQ(b.bytes, 99U);
}

TEST(Behaviour, EveryParameterIsApplied) {
  const auto b = parse_ok(
      "delay=100ms&jitter=10ms&dist=normal&bytes=4k&status=503&chunked=1&drip=50ms&fail=truncate&"
      "seed=42");
  EXPECT_EQ(b.delay, 100ms);
  EXPECT_EQ(b.jitter, 10ms);
  EXPECT_EQ(b.dist, distribution::normal);
  EXPECT_EQ(b.bytes, 4096U);
  EXPECT_EQ(b.status, 503);
  EXPECT_TRUE(b.chunked);
  EXPECT_EQ(b.drip, 50ms);
  EXPECT_EQ(b.fail, fault::truncate);
  EXPECT_EQ(b.seed, 42U);
}

TEST(Behaviour, QueryOverridesDefaultsAndBareNumbersAreMs) {
  behaviour d;
  d.delay = 5s;
  EXPECT_EQ(parse_ok("delay=250", d).delay, 250ms);
  EXPECT_EQ(parse_ok("delay=250us", d).delay, 250us);
  EXPECT_EQ(parse_ok("delay=1.5s", d).delay, 1500ms);
  EXPECT_EQ(parse_ok("del%61y=1%30ms").delay, 10ms) << "percent-encoding is decoded";
}

TEST(Behaviour, ErrorsNameTheParameterAndTheRange) {
  struct bad {
    const char* query;
    const char* must_contain;
  };
  for (const auto& [query, needle] : std::initializer_list<bad>{
           {"delay=soon", "delay: 'soon' is not a duration; accepted: 0 to 60s"},
           {"delay=61s", "delay: '61s' is over the limit; accepted: 0 to 60s"},
           {"jitter=-1ms", "jitter:"},
           {"drip=2m", "drip: '2m' is over the limit"},
           {"bytes=65m", "bytes: '65m' is over the limit; accepted: 0 to 64MiB"},
           {"bytes=lots", "bytes: 'lots' is not a size"},
           {"status=99", "status: '99' is not accepted; accepted: 200 to 599"},
           {"status=600", "accepted: 200 to 599"},
           {"status=2xx", "status:"},
           {"chunked=yes", "chunked: 'yes' is not accepted; accepted: 0 or 1"},
           {"dist=gamma", "dist: 'gamma' is not a distribution; accepted: fixed, uniform"},
           {"fail=explode", "fail: 'explode' is not a fault; accepted: reset, close, hang"},
           {"fail=none", "fail:"},
           {"seed=-1", "seed:"},
           {"colour=red", "unknown parameter 'colour'; accepted: delay, jitter"},
           {"delay=1&delay=2", "delay: given twice"},
           {"delay", "delay: missing value"},
           {"bytes=", "bytes: missing value"},
           {"dist=uniform&delay=10ms&jitter=20ms", "jitter: 20ms is over delay"},
           {"status=204&bytes=10", "bytes: must be 0 for status 204"},
           {"dist=lognormal&jitter=1ms", "delay: must be above 0 for dist=lognormal"},
           {"a=%zz", "query:"},
       }) {
    const std::string err = parse_error(query);
    EXPECT_NE(err.find(needle), std::string::npos) << query << " -> " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
  }
}

TEST(Behaviour, LimitsAreConfigurable) {
  limits lim;
  lim.max_delay = 1s;
  lim.max_bytes = 1024;
  EXPECT_NE(parse_error("delay=2s", lim).find("0 to 1s"), std::string::npos);
  EXPECT_NE(parse_error("bytes=2k", lim).find("0 to 1KiB"), std::string::npos);
}

TEST(Behaviour, MaxDelayIsBoundedByADay) {
  // Deadlines are built from these; a day keeps every sum far from nanoseconds' overflow.
  limits lim;
  lim.max_delay = kMaxDuration;
  EXPECT_EQ(validate(behaviour{}, lim), std::nullopt);
  lim.max_delay = kMaxDuration + 1ns;
  const auto err = validate(behaviour{}, lim);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->rfind("max-delay: ", 0), 0U) << *err;
  EXPECT_NE(err->find("0 to 86400s"), std::string::npos) << *err;
  lim.max_delay = std::chrono::nanoseconds::max();
  EXPECT_TRUE(validate(behaviour{}, lim).has_value());
  // The server refuses such a config too.
  EXPECT_THROW(server({.lim = lim}), std::invalid_argument);
}

TEST(Behaviour, ErrorsStayOneLineWhateverTheClientSent) {
  const std::string err = parse_error("delay=%0d%0aInjected:%20yes");
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
}

TEST(Behaviour, FixedSamplesAreExact) {
  behaviour b;
  b.delay = 20ms;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sample_delay(b, rng, 60s), 20ms);
}

TEST(Behaviour, SamplesAreCutToZeroAndTheCap) {
  behaviour b;
  b.delay = 1ms;
  b.jitter = 50ms;
  b.dist = distribution::normal;
  std::mt19937_64 rng(7);
  bool saw_zero = false;
  for (int i = 0; i < 1000; ++i) {
    const auto d = sample_delay(b, rng, 60ms);
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d, 60ms);
    saw_zero = saw_zero || d.count() == 0;
  }
  EXPECT_TRUE(saw_zero) << "a normal with sd >> mean must hit the cut at 0";
}

TEST(Behaviour, TheSameSeedGivesTheSameSample) {
  behaviour b;
  b.delay = 10ms;
  b.dist = distribution::exp;
  std::mt19937_64 a(123);
  std::mt19937_64 c(123);
  std::mt19937_64 other(124);
  const auto x = sample_delay(b, a, 60s);
  EXPECT_EQ(x, sample_delay(b, c, 60s));
  EXPECT_NE(x, sample_delay(b, other, 60s));
}

TEST(Behaviour, NamesRoundTrip) {
  for (auto d : {distribution::fixed, distribution::uniform, distribution::normal,
                 distribution::exp, distribution::lognormal}) {
    EXPECT_EQ(parse_distribution(to_string(d)), d);
  }
  for (auto f : {fault::reset, fault::close, fault::hang, fault::truncate, fault::garbage}) {
    EXPECT_EQ(parse_fault(to_string(f)), f);
  }
}

}  // namespace
