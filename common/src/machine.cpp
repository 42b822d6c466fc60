#include "common/machine.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace iobench {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

unsigned usable_cpus() {
  const auto cpus = allowed_cpus();
  if (!cpus.empty()) return static_cast<unsigned>(cpus.size());
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace iobench
