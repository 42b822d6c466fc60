// Where the server and the client run. On a shared core the two take turns and every number is
// half the server's; on a many-core machine an unpinned one-thread server is the bottleneck that
// every model hits at the same throughput. So by default iobench gives the server the first half
// of the CPUs it may use and the client (the models, wrk, the Python references) the rest, and
// records the partition in the results.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/machine.hpp"  // allowed_cpus(), usable_cpus()

namespace iobench::bench {

/// CPU numbers, ascending, no duplicates.
using cpu_list = std::vector<int>;

/// Parses Linux cpu-list syntax: "0-3,8,10-11". Throws std::invalid_argument with the reason.
cpu_list parse_cpu_list(std::string_view text);

/// The cpu-list text of `cpus`, ranges folded ("0-3,8"); "" for none.
std::string format_cpu_list(std::span<const int> cpus);

/// Who runs where, and why.
struct partition {
  cpu_list server;   ///< the mock_server child's CPUs; empty: not pinned (or not ours)
  cpu_list client;   ///< this process's CPUs and its children's; empty: not pinned
  std::string note;  ///< when pinning is off or impossible, the reason, for the log
};

/// Plans the partition. Default: of `allowed`, the first half (at least one) to the server and
/// the rest to the client; with an external server (`own_server` false) the client gets every
/// allowed CPU. Explicit lists must be non-empty subsets of `allowed` and must not overlap.
/// `no_pin` (or a single CPU) leaves both unpinned. Throws std::invalid_argument for bad lists.
partition plan_partition(const cpu_list& allowed, const std::optional<cpu_list>& server,
                         const std::optional<cpu_list>& client, bool no_pin, bool own_server);

/// Restricts the calling thread (and every thread and child it creates later) to `cpus`.
/// Throws std::runtime_error when the kernel refuses.
void pin_to(std::span<const int> cpus);

}  // namespace iobench::bench
