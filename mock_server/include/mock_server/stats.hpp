// The server's counters. Every event loop thread updates them with relaxed atomics (no lock on the
// request path); /stats reads a snapshot. Timer lateness goes into a log-linear histogram so that
// p50/p99 stay cheap to record and bounded in memory however long the server runs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

namespace iobench::mock {

/// Lock-free histogram of non-negative integers (microseconds here) with ~3% relative precision:
/// exact below 64, then 32 sub-buckets per power of two.
class latency_histogram {
 public:
  void record(std::uint64_t value);
  /// Smallest bucket bound at or above the q-quantile (0 < q <= 1), capped at the exact max; 0
  /// when empty.
  [[nodiscard]] std::uint64_t quantile(double q) const;
  [[nodiscard]] std::uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void reset();

  /// Bucket index of a value and the largest value that bucket holds (exposed for tests).
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_upper(std::size_t bucket);

 private:
  static constexpr unsigned kExactBits = 6;  // values below 64 get their own bucket
  static constexpr unsigned kSubBits = 5;    // 32 sub-buckets per power of two above that
  static constexpr std::size_t kBuckets = (64 - kExactBits + 2) << kSubBits;
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_{0};
};

/// A consistent-enough copy of the counters, as served by GET /stats.
struct stats_snapshot {
  std::uint64_t requests = 0;
  std::map<int, std::uint64_t> responses;  ///< status -> count
  std::int64_t in_flight = 0;
  std::int64_t max_in_flight = 0;
  std::uint64_t connections_accepted = 0;
  std::int64_t connections_open = 0;
  std::uint64_t connections_rejected = 0;
  std::uint64_t bad_requests = 0;
  std::uint64_t faults = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t request_body_bytes = 0;  ///< request body bytes read (and dropped), decoded
  std::uint64_t tls_handshakes = 0;      ///< TLS handshakes completed (with --tls)
  std::uint64_t tls_resumed = 0;         ///< of those, sessions resumed (a ticket or a session id)
  std::uint64_t tls_failures = 0;        ///< handshakes that failed or were abandoned
  std::uint64_t late_p50_us = 0;
  std::uint64_t late_p99_us = 0;
  std::uint64_t late_max_us = 0;
  std::uint64_t late_samples = 0;
  // What the server runs on, so a client can tell whether the server was the bottleneck. These
  // are not zeroed by reset(): clients take differences.
  unsigned threads = 0;                ///< event-loop threads
  unsigned cpus = 0;                   ///< CPUs the server may run on (its affinity mask)
  std::uint64_t cpu_us = 0;            ///< the server process's user + system CPU time so far
  std::int64_t listen_overflows = -1;  ///< the kernel's TcpExtListenOverflows; -1: unreadable

  /// The /stats JSON document (keys as docs/mock_server.md lists them).
  [[nodiscard]] std::string to_json() const;
};

/// The live counters.
class server_stats {
 public:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;

  void on_request() { requests_.fetch_add(1, std::memory_order_relaxed); }
  void on_response(int status);
  void begin_flight();
  void end_flight() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  void on_accept() {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  void on_close() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void on_reject() { rejected_.fetch_add(1, std::memory_order_relaxed); }
  void on_bad_request() { bad_requests_.fetch_add(1, std::memory_order_relaxed); }
  void on_fault() { faults_.fetch_add(1, std::memory_order_relaxed); }
  void on_cancel() { cancelled_.fetch_add(1, std::memory_order_relaxed); }
  void on_sent(std::uint64_t n) { bytes_sent_.fetch_add(n, std::memory_order_relaxed); }
  void on_request_body(std::uint64_t n) {
    request_body_bytes_.fetch_add(n, std::memory_order_relaxed);
  }
  void on_late(std::uint64_t us) { late_us_.record(us); }
  void on_tls_handshake(bool resumed) {
    tls_handshakes_.fetch_add(1, std::memory_order_relaxed);
    if (resumed) tls_resumed_.fetch_add(1, std::memory_order_relaxed);
  }
  void on_tls_failure() { tls_failures_.fetch_add(1, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t connections_open() const {
    return open_.load(std::memory_order_relaxed);
  }

  /// Records what the server runs on (threads, CPUs), for snapshots.
  void set_topology(unsigned threads, unsigned cpus) {
    threads_.store(threads, std::memory_order_relaxed);
    cpus_.store(cpus, std::memory_order_relaxed);
  }

  [[nodiscard]] stats_snapshot snapshot() const;
  /// Zeroes the counters; gauges (in_flight, connections_open) keep their value and
  /// max_in_flight restarts from the current in_flight.
  void reset();

 private:
  std::atomic<std::uint64_t> requests_{0};
  std::array<std::atomic<std::uint64_t>, kMaxStatus - kMinStatus + 1> responses_{};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> max_in_flight_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::int64_t> open_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> bad_requests_{0};
  std::atomic<std::uint64_t> faults_{0};
  std::atomic<std::uint64_t> cancelled_{0};
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::atomic<std::uint64_t> request_body_bytes_{0};
  std::atomic<std::uint64_t> tls_handshakes_{0};
  std::atomic<std::uint64_t> tls_resumed_{0};
  std::atomic<std::uint64_t> tls_failures_{0};
  latency_histogram late_us_;
  std::atomic<unsigned> threads_{0};
  std::atomic<unsigned> cpus_{0};
};

/// The kernel's TcpExtListenOverflows (connections dropped because a listen queue was full) for
/// this process's network namespace, from /proc/net/netstat; -1 when it cannot be read.
std::int64_t listen_overflows();

/// This process's user + system CPU time in microseconds.
std::uint64_t process_cpu_us();

}  // namespace iobench::mock
