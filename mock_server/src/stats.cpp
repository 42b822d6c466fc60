#include "mock_server/stats.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace iobench::mock {
namespace {

void atomic_max(std::atomic<std::uint64_t>& target, std::uint64_t value) {
  auto seen = target.load(std::memory_order_relaxed);
  while (value > seen && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::size_t latency_histogram::bucket_of(std::uint64_t value) {
  if (value < (1U << kExactBits)) return static_cast<std::size_t>(value);
  const unsigned top = 63U - static_cast<unsigned>(std::countl_zero(value));  // >= kExactBits
  const std::uint64_t sub = (value >> (top - kSubBits)) & ((1U << kSubBits) - 1);
  return (std::size_t{top - kExactBits + 2} << kSubBits) + sub;
}

std::uint64_t latency_histogram::bucket_upper(std::size_t bucket) {
  if (bucket < (1U << kExactBits)) return bucket;
  const unsigned top = static_cast<unsigned>(bucket >> kSubBits) + kExactBits - 2;
  const std::uint64_t sub = bucket & ((1U << kSubBits) - 1);
  const std::uint64_t width = std::uint64_t{1} << (top - kSubBits);
  return (std::uint64_t{1} << top) + (sub + 1) * width - 1;
}

void latency_histogram::record(std::uint64_t value) {
  const std::size_t b = std::min(bucket_of(value), kBuckets - 1);
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_max(max_, value);
}

std::uint64_t latency_histogram::quantile(double q) const {
  const std::uint64_t n = count();
  if (n == 0) return 0;
  const auto rank =
      static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(n)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(bucket_upper(b), max());
  }
  return max();
}

void latency_histogram::reset() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

void server_stats::on_response(int status) {
  if (status >= kMinStatus && status <= kMaxStatus) {
    responses_[static_cast<std::size_t>(status - kMinStatus)].fetch_add(1,
                                                                        std::memory_order_relaxed);
  }
}

void server_stats::begin_flight() {
  const auto now = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  auto seen = max_in_flight_.load(std::memory_order_relaxed);
  while (now > seen &&
         !max_in_flight_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

stats_snapshot server_stats::snapshot() const {
  stats_snapshot s;
  s.requests = requests_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < responses_.size(); ++i) {
    if (const auto n = responses_[i].load(std::memory_order_relaxed); n > 0) {
      s.responses[static_cast<int>(i) + kMinStatus] = n;
    }
  }
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  s.max_in_flight = max_in_flight_.load(std::memory_order_relaxed);
  s.connections_accepted = accepted_.load(std::memory_order_relaxed);
  s.connections_open = open_.load(std::memory_order_relaxed);
  s.connections_rejected = rejected_.load(std::memory_order_relaxed);
  s.bad_requests = bad_requests_.load(std::memory_order_relaxed);
  s.faults = faults_.load(std::memory_order_relaxed);
  s.cancelled = cancelled_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.request_body_bytes = request_body_bytes_.load(std::memory_order_relaxed);
  s.tls_handshakes = tls_handshakes_.load(std::memory_order_relaxed);
  s.tls_resumed = tls_resumed_.load(std::memory_order_relaxed);
  s.tls_failures = tls_failures_.load(std::memory_order_relaxed);
  s.late_p50_us = late_us_.quantile(0.50);
  s.late_p99_us = late_us_.quantile(0.99);
  s.late_max_us = late_us_.max();
  s.late_samples = late_us_.count();
  s.threads = threads_.load(std::memory_order_relaxed);
  s.cpus = cpus_.load(std::memory_order_relaxed);
  s.cpu_us = process_cpu_us();
  s.listen_overflows = listen_overflows();
  return s;
}

std::int64_t listen_overflows() {
  // Two lines per group: "TcpExt: <names...>" then "TcpExt: <values...>".
  std::ifstream in("/proc/net/netstat");
  for (std::string names, values; std::getline(in, names) && std::getline(in, values);) {
    if (!names.starts_with("TcpExt:")) continue;
    std::istringstream n(names), v(values);
    for (std::string name, value; n >> name && v >> value;) {
      if (name == "ListenOverflows") return std::stoll(value);
    }
  }
  return -1;
}

std::uint64_t process_cpu_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto us = [](const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(t.tv_usec);
  };
  return us(u.ru_utime) + us(u.ru_stime);
}

void server_stats::reset() {
  requests_.store(0, std::memory_order_relaxed);
  for (auto& r : responses_) r.store(0, std::memory_order_relaxed);
  max_in_flight_.store(in_flight_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  accepted_.store(0, std::memory_order_relaxed);
  rejected_.store(0, std::memory_order_relaxed);
  bad_requests_.store(0, std::memory_order_relaxed);
  faults_.store(0, std::memory_order_relaxed);
  cancelled_.store(0, std::memory_order_relaxed);
  bytes_sent_.store(0, std::memory_order_relaxed);
  request_body_bytes_.store(0, std::memory_order_relaxed);
  tls_handshakes_.store(0, std::memory_order_relaxed);
  tls_resumed_.store(0, std::memory_order_relaxed);
  tls_failures_.store(0, std::memory_order_relaxed);
  late_us_.reset();
}

std::string stats_snapshot::to_json() const {
  namespace json = boost::json;
  json::object codes;
  for (const auto& [status, n] : responses) codes[std::to_string(status)] = n;
  json::object o;
  o["requests"] = requests;
  o["responses"] = std::move(codes);
  o["in_flight"] = in_flight;
  o["max_in_flight"] = max_in_flight;
  o["connections_accepted"] = connections_accepted;
  o["connections_open"] = connections_open;
  o["connections_rejected"] = connections_rejected;
  o["bad_requests"] = bad_requests;
  o["faults"] = faults;
  o["cancelled"] = cancelled;
  o["bytes_sent"] = bytes_sent;
  o["request_body_bytes"] = request_body_bytes;
  o["tls_handshakes"] = tls_handshakes;
  o["tls_resumed"] = tls_resumed;
  o["tls_failures"] = tls_failures;
  o["late_us"] = json::object{
      {"p50", late_p50_us}, {"p99", late_p99_us}, {"max", late_max_us}, {"samples", late_samples}};
  o["threads"] = threads;
  o["cpus"] = cpus;
  o["cpu_us"] = cpu_us;
  o["listen_overflows"] = listen_overflows;
  return json::serialize(o);
}

}  // namespace iobench::mock
