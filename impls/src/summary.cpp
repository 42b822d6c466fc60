#include "impls/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace iobench {

double percentile(std::span<const double> sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size()));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

std::vector<double> sorted_latencies_ms(std::span<const Outcome> outcomes) {
  std::vector<double> ms;
  ms.reserve(outcomes.size());
  for (const auto& o : outcomes) {
    ms.push_back(std::chrono::duration<double, std::milli>(o.latency()).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

batch_summary summarize(std::span<const Outcome> outcomes, Clock::duration wall) {
  batch_summary s;
  s.requests = outcomes.size();
  s.wall_s = std::chrono::duration<double>(wall).count();
  s.req_per_s = s.wall_s > 0 ? static_cast<double>(s.requests) / s.wall_s : 0;
  for (auto kind :
       {ErrorKind::connect, ErrorKind::timeout, ErrorKind::reset, ErrorKind::bad_response}) {
    s.errors[std::string(to_string(kind))] = 0;
  }
  for (const auto& o : outcomes) {
    s.body_bytes += o.body_bytes;
    if (o.succeeded()) ++s.succeeded;
    if (o.error == ErrorKind::none) {
      ++s.statuses[o.status];
    } else {
      ++s.errors[std::string(to_string(o.error))];
    }
  }
  s.failed = s.requests - s.succeeded;
  std::vector<double> connect_ms;
  std::vector<double> first_byte_ms;
  const auto ms_of = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  for (const auto& o : outcomes) {
    if (o.new_connection) connect_ms.push_back(ms_of(o.connect_time));
    if (o.first_byte > Clock::duration::zero()) first_byte_ms.push_back(ms_of(o.first_byte));
  }
  std::sort(connect_ms.begin(), connect_ms.end());
  std::sort(first_byte_ms.begin(), first_byte_ms.end());
  s.connections = connect_ms.size();
  s.connect_p50_ms = percentile(connect_ms, 0.50);
  s.connect_p99_ms = percentile(connect_ms, 0.99);
  s.first_bytes = first_byte_ms.size();
  s.first_byte_p50_ms = percentile(first_byte_ms, 0.50);
  s.first_byte_p99_ms = percentile(first_byte_ms, 0.99);
  const auto ms = sorted_latencies_ms(outcomes);
  if (!ms.empty()) {
    s.min_ms = ms.front();
    s.mean_ms = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
    s.p50_ms = percentile(ms, 0.50);
    s.p90_ms = percentile(ms, 0.90);
    s.p99_ms = percentile(ms, 0.99);
    s.max_ms = ms.back();
  }
  return s;
}

}  // namespace iobench
