// iobench's command line: its own flags, read with the shared cli::arg_reader, and everything else
// handed to Google Benchmark untouched. Also the one rule both share: which benchmark names a
// --benchmark_filter selects.
#pragma once

#include <optional>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "cpus.hpp"

namespace iobench::bench {

/// iobench's own flags.
struct options {
  std::string suite = "default";
  std::string server;  ///< --server URL without trailing '/'; empty: start a mock_server child
  std::vector<std::string> impls;  ///< --impls a,b; empty: every impl
  /// --reference NAME=COMMAND, in order: clients added for this run (add_reference()).
  std::vector<std::pair<std::string, std::string>> references;
  std::vector<std::string> server_args;  ///< --server-args, split on spaces
  std::optional<cpu_list> server_cpus;   ///< --server-cpus; unset: the default partition
  std::optional<cpu_list> client_cpus;   ///< --client-cpus; unset: the default partition
  bool no_pin = false;                   ///< --no-pin: client and server share every CPU
  /// argv[0] and every argument iobench does not know, in order, for benchmark::Initialize.
  std::vector<std::string> benchmark_args;
  bool help = false;  ///< -h or --help
};

/// Reads the command line. Throws cli::usage_error for a flag of iobench's without its value, an
/// --impls list with an empty or repeated name, or a --server that is not an http://host:port.
options parse_args(int argc, char** argv);

/// Checks the Google Benchmark flags in `benchmark_args` that Google Benchmark 1.7.1 would
/// mishandle: a --benchmark_repetitions outside 1..kMaxRepetitions (-1 throws length_error inside
/// it, 0 runs nothing), a --benchmark_min_time or --benchmark_min_warmup_time that is negative
/// or not finite, and a --benchmark_format, --benchmark_out_format, --benchmark_time_unit or
/// --benchmark_color it would answer with its usage text and exit status 0. Throws
/// cli::usage_error. As Google Benchmark does, the last occurrence of a flag counts.
void check_benchmark_flags(std::span<const std::string> benchmark_args);

/// Repetitions a run may ask for: beyond this Google Benchmark's bookkeeping (a vector of every
/// repetition of every benchmark) grows without bound, and no suite needs it.
inline constexpr int kMaxRepetitions = 10000;

/// `iobench --help`, with the models and references listed from the registry.
std::string help_text();

/// Google Benchmark's --benchmark_filter, compiled as it compiles it (a POSIX extended regular
/// expression, searched for in the name; "-" first negates it; empty and "all" select everything).
class benchmark_filter {
 public:
  /// Throws cli::usage_error naming the flag when `spec` does not compile (Google Benchmark would
  /// let std::regex_error escape).
  explicit benchmark_filter(const std::string& spec);
  /// True when the filter selects the benchmark named `name` (its suffixes included).
  [[nodiscard]] bool selects(const std::string& name) const;

 private:
  std::optional<std::regex> re_;  ///< empty: everything
  bool negate_ = false;
};

}  // namespace iobench::bench
