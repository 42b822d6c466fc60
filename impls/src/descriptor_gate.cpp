#include "descriptor_gate.hpp"

#include <algorithm>

namespace iobench::detail {

bool descriptor_gate::wait(Clock::time_point deadline) {
  // Workers free descriptors one connection at a time and say so; the recheck catches those
  // freed by anything else in the process (an in-process server, another fetcher).
  constexpr auto kRecheck = std::chrono::milliseconds(100);
  const auto now = Clock::now();
  if (now >= deadline) return false;
  std::unique_lock lock(mutex_);
  freed_.wait_until(lock, std::min(deadline, now + kRecheck));
  return true;
}

}  // namespace iobench::detail
