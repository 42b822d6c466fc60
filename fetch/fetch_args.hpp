// iobench-fetch's command line: the flags, their checks (one line and exit 2 for anything bad),
// and the help text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "impls/fetcher.hpp"
#include "open_run.hpp"

namespace iobench::fetch {

/// The most requests one run may ask for (-n, or --rate x --duration).
inline constexpr std::size_t kMaxRequests = 100'000'000;

/// What the command line asked for.
struct options {
  std::string impl = "coroutine";
  std::size_t requests = 1;
  bool requests_given = false;  ///< -n was on the command line
  Options fetch;                ///< the model's options: -c, timeouts, keep-alive, --work, --block
  bool json = false;
  std::string url;
  std::optional<bench::open_step> open;  ///< --rate: an open-loop run
  std::string hgrm;                      ///< --hgrm FILE
};

/// Reads the command line; --help prints the help and exits 0. Throws cli::usage_error (one
/// line) for anything it cannot use.
options parse_args(int argc, char** argv);

}  // namespace iobench::fetch
