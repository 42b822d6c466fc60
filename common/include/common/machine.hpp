// Facts about the machine this process may use, read in one place for the server, the models
// and the suite: which CPUs the scheduler lets it run on (its affinity mask, which taskset,
// cgroups' cpusets and `iobench --server-cpus` narrow), not how many the machine has.
#pragma once

#include <vector>

namespace iobench {

/// The CPUs this process may run on, ascending (sched_getaffinity); empty if it cannot be read.
std::vector<int> allowed_cpus();

/// How many CPUs this process may run on: allowed_cpus().size(), or the machine's count
/// (std::thread::hardware_concurrency) where the mask cannot be read; at least 1.
unsigned usable_cpus();

}  // namespace iobench
