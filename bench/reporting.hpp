// What iobench writes besides the measurements: reporters that print the contract names
// (docs/results.md) and the results' context, the registry's `models` table included.
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

/// Where this run's server and client ran (context keys server_cpus, client_cpus,
/// server_threads); "" where unknown.
struct run_placement {
  std::string server_cpus;     ///< cpu-list, or "all (not pinned)", or "" for a remote server
  std::string client_cpus;     ///< cpu-list, or "all (not pinned)"
  std::string server_threads;  ///< the server's event-loop threads, from its /stats
  std::string note;            ///< why pinning is off, if it is
};

/// Adds the run's context to Google Benchmark's: suite, git sha, build, library versions, kernel,
/// cores, CPU model, server, the CPU partition, models.
void add_context(const options& o, const run_placement& where);

}  // namespace iobench::bench
