// iobench's command line: its own flags, read with the shared cli::arg_reader, and everything else
// handed to Google Benchmark untouched. Also the one rule both share: which benchmark names a
// --benchmark_filter selects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cpus.hpp"

namespace iobench::bench {

/// iobench's own flags.
struct options {
  std::string suite = "default";
  std::string server;  ///< --server URL without trailing '/'; empty: start a mock_server child
  std::vector<std::string> impls;        ///< --impls a,b; empty: every impl
  std::vector<std::string> server_args;  ///< --server-args, split on spaces
  std::optional<cpu_list> server_cpus;   ///< --server-cpus; unset: the default partition
  std::optional<cpu_list> client_cpus;   ///< --client-cpus; unset: the default partition
  bool no_pin = false;                   ///< --no-pin: client and server share every CPU
  /// argv[0] and every argument iobench does not know, in order, for benchmark::Initialize.
  std::vector<std::string> benchmark_args;
  bool help = false;  ///< -h or --help
};

/// Reads the command line. Throws cli::usage_error for a flag of iobench's without its value.
options parse_args(int argc, char** argv);

/// `iobench --help`, with the models and references listed from the registry.
std::string help_text();

/// True when Google Benchmark's `filter` (a regular expression; "-" first negates it; empty,
/// "all" and "." select everything) selects the benchmark named `name`.
bool filter_selects(const std::string& name, const std::string& filter);

}  // namespace iobench::bench
