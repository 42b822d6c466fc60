// What iobench writes besides the measurements: reporters that print the contract names
// (DESIGN.md) and the results' context, the registry's `models` table included.
#pragma once

#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "args.hpp"

namespace iobench::bench {

/// The benchmark runs that ended in an error (SkipWithError), as the reporters saw them.
struct run_errors {
  std::size_t count = 0;
  std::string first;  ///< "<name>: <error_message>" of the first
};

/// What RunSpecifiedBenchmarks reports to.
struct reporters {
  std::unique_ptr<benchmark::BenchmarkReporter> display;
  std::unique_ptr<benchmark::BenchmarkReporter> file;  ///< null without --benchmark_out
  std::shared_ptr<const run_errors> errors;            ///< filled as the display reports
};

/// Reporters in the formats Google Benchmark's flags ask for that write the contract names (no
/// "/iterations:N", "/repeats:N", "/real_time" suffixes) and count errored runs into `errors`.
/// REQUIRES: benchmark::Initialize ran.
reporters make_reporters();

/// The results' `models` context: a JSON array of {name, kind ("model" or "reference"),
/// one_at_a_time, baseline, summary}, models in registry order, then the references.
std::string models_json();

/// Adds the run's context to Google Benchmark's: suite, git sha, build, library versions, kernel,
/// cores, CPU model, server, models.
void add_context(const options& o);

}  // namespace iobench::bench
