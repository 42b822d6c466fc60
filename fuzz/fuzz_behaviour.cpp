// Fuzz target: the behaviour query parser (iobench::mock::parse_behaviour), called directly with
// the server's default limits. The input is the raw query, as it follows '?' in a request target.
//
// Invariants, beyond ASan/UBSan:
// - an accepted query passes validate() and stays within the limits;
// - a rejection is one printable line (the server sends it as a 400 body with a '\n' appended);
// - the delay sampled for an accepted behaviour lies in [0, cap], for a fixed and a per-request
//   seed alike;
// - the parsed durations and sizes format back into text the parser accepts.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <variant>

#include "common/units.hpp"
#include "fuzz_support.hpp"
#include "mock_server/behaviour.hpp"

namespace {

using iobench::fuzz::finding;
using namespace std::chrono_literals;

void check_formats_back(std::chrono::nanoseconds d, const char* name) {
  if (!iobench::parse_duration(iobench::format_duration(d))) {
    finding(std::string(name) + " " + std::to_string(d.count()) + " ns formats as '" +
            iobench::format_duration(d) + "', which parse_duration rejects");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  const iobench::mock::behaviour defaults;
  const iobench::mock::limits lim;
  const auto parsed = iobench::mock::parse_behaviour(query, defaults, lim);

  if (const auto* err = std::get_if<std::string>(&parsed)) {
    if (err->empty()) finding("an empty rejection message");
    for (const char c : *err) {
      if (c < 0x20 || c > 0x7e) {
        finding("a rejection message with byte " + std::to_string(static_cast<unsigned char>(c)) +
                ": '" + *err + "'");
      }
    }
    return 0;
  }

  const auto& b = std::get<iobench::mock::behaviour>(parsed);
  if (auto err = iobench::mock::validate(b, lim)) {
    finding("accepted, but validate() says: " + *err);
  }
  if (b.status < 100 || b.status > 599) finding("status " + std::to_string(b.status));
  check_formats_back(b.delay, "delay");
  check_formats_back(b.jitter, "jitter");
  check_formats_back(b.drip, "drip");
  if (iobench::parse_size(iobench::format_size(b.bytes)) != b.bytes) {
    finding("bytes " + std::to_string(b.bytes) + " formats as '" + iobench::format_size(b.bytes) +
            "', which parse_size does not read back");
  }

  std::mt19937_64 rng(1);
  for (int i = 0; i < 4; ++i) {
    const auto d = iobench::mock::sample_delay(b, rng, lim.max_delay);
    if (d < 0ns || d > lim.max_delay) {
      finding("sample_delay gave " + std::to_string(d.count()) + " ns, outside [0, max_delay]");
    }
  }
  return 0;
}
