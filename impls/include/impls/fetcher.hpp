// One interface, many ways of doing I/O. A Fetcher takes a batch of requests and returns one
// Outcome per request, in request order; how it overlaps the waiting is the model. The registry
// (impls/CMakeLists.txt, one iobench_model() line per model) names every model with a one-line
// summary, and models() serves that table to every test, suite, help text and report. The four
// models DESIGN.md names:
//
//   sequential   One libcurl easy handle on the caller's thread, one blocking request after
//                another over a reused keep-alive connection. Makespan = sum of latencies;
//                costs nothing beyond one connection and no extra thread. The baseline.
//   thread_pool  `concurrency` worker threads, created once per fetcher, each with its own libcurl
//                easy handle and connection; a batch is shared out through a work queue. Overlaps
//                waits at the price of a thread (stack, scheduler wake-ups) per in-flight request.
//   coroutine    Boost.Asio C++20 coroutines + Beast on one io_context run by the caller's thread:
//                `concurrency` worker coroutines, each owning a connection it reuses. A waiting
//                request costs a coroutine frame and a socket, not a thread.
//   curl_multi   libcurl's multi interface driven by curl_multi_socket_action from an Asio event
//                loop (epoll + one timer) on the caller's thread: a sliding window of
//                `concurrency` transfers over a shared connection cache.
//
// Every model's file, impls/src/<name>.cpp, opens with why it behaves as it does.
//
// Rules every model keeps (the shared test suite checks them against a real server):
// - fetch_all returns exactly one Outcome per Request, in request order, and never throws for a
//   per-request failure: failures are values (Outcome::error, Outcome::detail).
// - A non-2xx status is a response, not an error: error == none, status == 404.
// - At most Options::concurrency requests are in flight (sequential: 1).
// - Options::connect_timeout bounds connection setup; Options::timeout bounds a whole request from
//   its start (connect included). Nothing waits forever.
// - With keep_alive, connections are reused within a batch; without, one connection per request.
//   Either way every connection is closed when fetch_all returns.
// - A request that fails on a reused keep-alive connection before any response byte arrived is
//   retried once on a fresh connection (the server may have closed it while idle), as libcurl
//   does.
// - Each request is reported once as it finishes (Options::completed, Options::observer), on
//   the thread that finished it, before fetch_all returns.
//
// NOTE: the contract types keep the names DESIGN.md fixes (Request, Outcome, ...); everything
// else in the project is snake_case.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iobench {

/// The clock every Outcome is stamped with.
using Clock = std::chrono::steady_clock;

/// Default total timeout of one request.
inline constexpr std::chrono::milliseconds kDefaultTimeout{30000};
/// Default connection setup timeout.
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};

/// One GET request: "http://host:port/path?query".
struct Request {
  std::string url;
};

/// Why a request failed.
enum class ErrorKind {
  none,          ///< a complete response arrived (any status)
  connect,       ///< no connection: refused, unreachable, bad URL, or the connect timeout
  timeout,       ///< connected, but the total timeout passed before the response was complete
  reset,         ///< the peer reset or closed the connection before any response byte
  bad_response,  ///< the bytes were not a valid, complete HTTP response (garbage, truncated)
};

/// "none", "connect", "timeout", "reset", "bad_response".
std::string_view to_string(ErrorKind kind);

/// What happened to one request.
struct Outcome {
  int status = 0;              ///< HTTP status; 0 when no response arrived
  std::size_t body_bytes = 0;  ///< body bytes received (decoded from chunked)
  Clock::time_point start;     ///< when the request started (connect included)
  Clock::time_point end;       ///< when it completed or failed
  ErrorKind error = ErrorKind::none;
  std::string detail;  ///< human-readable reason when error != none

  /// A complete response with a 2xx status.
  [[nodiscard]] bool succeeded() const {
    return error == ErrorKind::none && status >= 200 && status < 300;
  }
  [[nodiscard]] Clock::duration latency() const { return end - start; }
};

/// Sees each request of a batch as it finishes, while the batch still runs: what lets a caller
/// summarise an interrupted batch (iobench-fetch on Ctrl-C) from the requests that finished.
class outcome_observer {
 public:
  virtual ~outcome_observer() = default;
  /// Called once per finished request, before fetch_all returns, on the thread that finished it
  /// (thread_pool: any of its workers, concurrently). REQUIRES: thread-safe and cheap; it runs
  /// inside the measurement.
  virtual void finished(const Outcome& outcome) noexcept = 0;
};

/// How a fetcher runs a batch.
struct Options {
  std::size_t concurrency = 1;  ///< requests in flight at most (ignored when one_at_a_time)
  bool keep_alive = true;       ///< reuse connections within a batch
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  /// If set, incremented (relaxed) as each request finishes, so a caller can show progress from
  /// another thread. NOTE: must outlive the fetcher.
  std::atomic<std::size_t>* completed = nullptr;
  /// If set, told each finished request's Outcome (after `completed` counts it). NOTE: must
  /// outlive the fetcher.
  outcome_observer* observer = nullptr;
};

/// A way of fetching a batch of URLs. Not thread-safe: one fetch_all at a time.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  /// Fetches every request; returns one Outcome per request, in request order.
  virtual std::vector<Outcome> fetch_all(std::span<const Request> requests) = 0;
};

/// What the registry says about a model (one iobench_model() line in impls/CMakeLists.txt).
struct model_info {
  std::string_view name;       ///< [A-Za-z0-9_.-]+, as in --impl and benchmark names
  std::string_view summary;    ///< one line, for help texts and reports
  bool one_at_a_time = false;  ///< runs one request at a time whatever Options::concurrency says
  bool baseline = false;       ///< the model speedups are measured against
  /// Starts a thread per request in flight (Options::concurrency of them, when the fetcher is
  /// made), so a caller checks the machine's thread limits before asking for thousands.
  bool thread_per_request = false;
};

/// Every registered model, in registry order.
std::span<const model_info> models();

/// The model registered under `name`; nullptr when there is none.
const model_info* find_model(std::string_view name);

/// Creates the fetcher registered under `name`. Throws std::invalid_argument for an unknown name
/// or concurrency 0.
std::unique_ptr<Fetcher> make_fetcher(std::string_view name, const Options& options);

/// The registered names, in registry order (models()' names).
std::span<const std::string_view> fetcher_names();

}  // namespace iobench
