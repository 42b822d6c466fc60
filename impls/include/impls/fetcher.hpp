// One interface, many ways of doing I/O. A Fetcher takes a batch of requests and returns one
// Outcome per request, in request order; how it overlaps the waiting is the model. The registry
// (impls/CMakeLists.txt, one iobench_model() line per model) names every model with a one-line
// summary, and models() serves that table to every test, suite, help text and report. The four
// models docs/models.md describes first:
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
// Beyond those: coroutine_mt, the coroutine model on one event loop per client CPU (each loop its
// own thread, connections and share of the batch), the fair comparison with thread_pool on a
// machine with many cores; epoll and uring, event loops written for this project on the caller's
// thread over epoll and over io_uring, sharing one connection state machine and the judge below
// (no Asio, no Beast, no libcurl: the floor of what an event loop costs, and io_uring against
// epoll with everything else equal). uring is skipped where the kernel refuses io_uring
// (model_unavailable()).
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
//   the thread that finished it, before fetch_all returns; in an open-loop run also once as it
//   is sent (outcome_observer::sent).
// - Proxy settings in the environment (http_proxy, all_proxy, ...) are ignored: every model talks
//   to the URL's host itself, so that what is measured is the server, never a proxy.
//
// How a response is judged: one fault, one error kind, in every model. The table (RFC 9112's
// rules for a response, and which ErrorKind each broken rule is) is written once, in
// docs/models.md, "Errors: one fault, one kind, whatever the model"; one judge,
// impls/src/response_framing.hpp, checks the bytes for every model, with the limits below; the
// hostile-server suites (tests/hostile_test.cpp, tests/hostile_sets_test.cpp) hold each model
// to the table.
//
// NOTE: the contract types keep the names of the results contract (Request, Outcome, ...);
// everything else in the project is snake_case.
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

// What a server can make a fetcher hold in memory is bounded: past these a response is a
// bad_response (well above what real servers send: nginx's default header buffers are 8 KiB,
// libcurl's own total header limit is 300 KiB).
/// Most bytes of one response's header section, its interim 1xx responses' sections included.
inline constexpr std::size_t kMaxHeaderBytes = std::size_t{64} * 1024;
/// Most bytes of one chunk-size line of a chunked body: the size and its extensions.
inline constexpr std::size_t kMaxChunkLineBytes = std::size_t{64} * 1024;
/// Most bytes of the trailer section that ends a chunked body.
inline constexpr std::size_t kMaxTrailerBytes = std::size_t{64} * 1024;

/// One GET request: "http://host:port/path?query".
struct Request {
  std::string url;
};

/// Why a request failed.
enum class ErrorKind {
  none,          ///< a complete response arrived (any status)
  connect,       ///< no connection: refused, unreachable, bad URL, or the connect timeout
  timeout,       ///< connected, but the total timeout passed before the response was complete
  reset,         ///< the peer reset or closed the connection before a final status line
  bad_response,  ///< not a valid, complete HTTP/1.x response: malformed, over a limit, cut short
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
  // Open loop only (fetch_schedule); a closed-loop batch leaves them as they are.
  Clock::time_point intended;  ///< when the schedule said to send it
  bool sent = true;            ///< false: the run ended (deadline, or stopped early) before it
  bool finished = true;        ///< false: not sent, or still in flight when the run ended
  // Phases, stamped by every model (hey's "details"): libcurl's from its CURLINFO_*_TIME_T, the
  // others' from their own clocks.
  bool new_connection = false;     ///< the request opened a connection (not a reused one)
  Clock::duration connect_time{};  ///< how long that connection took to connect
  Clock::duration first_byte{};    ///< from start to the first response byte; zero: none came

  /// A complete response with a 2xx status.
  [[nodiscard]] bool succeeded() const {
    return finished && error == ErrorKind::none && status >= 200 && status < 300;
  }
  [[nodiscard]] Clock::duration latency() const { return end - start; }
};

/// How long an open-loop run may go on.
struct schedule_limits {
  /// Nothing runs past it: what is not finished then is incomplete (counted, never dropped).
  Clock::time_point deadline = Clock::time_point::max();
  /// A request sent this much later than intended stops the run: the rest are not sent.
  std::chrono::nanoseconds max_lag = std::chrono::seconds{10};
};

/// What an open-loop run did.
struct schedule_result {
  std::vector<Outcome> outcomes;  ///< one per request, in request order
  std::size_t peak_queue = 0;     ///< most requests that were due but waited for a free slot
  bool stopped_early = false;     ///< a send lagged more than max_lag; later ones were not sent
};

/// Sees each request of a batch as it finishes, while the batch still runs: what lets a caller
/// summarise an interrupted batch (iobench-fetch on Ctrl-C) from the requests that finished.
class outcome_observer {
 public:
  virtual ~outcome_observer() = default;
  /// Called once per finished request, before fetch_all returns, on the thread that finished it
  /// (thread_pool: any of its workers, concurrently). In an open-loop run also once per request
  /// cut off by the run's end (sent, not finished). REQUIRES: thread-safe and cheap; it runs
  /// inside the measurement.
  virtual void finished(const Outcome& outcome) noexcept = 0;
  /// Open loop only (fetch_schedule): called once per request as it is sent, with the time it was
  /// meant to go (`intended`, its send_at) and the time it went (`at`, its Outcome::start), on
  /// the thread that sends it, before that request's finished(). What an interrupted run's summary
  /// needs to count the requests still in flight. REQUIRES: as for finished().
  virtual void sent(Clock::time_point intended, Clock::time_point at) noexcept {
    (void)intended;
    (void)at;
  }
};

/// How a fetcher runs a batch.
struct Options {
  std::size_t concurrency = 1;  ///< requests in flight at most (ignored when one_at_a_time)
  bool keep_alive = true;       ///< reuse connections within a batch
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  /// Event loops for the models that run several (coroutine_mt); 0: one per CPU this process may
  /// run on. Never more than `concurrency` are used.
  std::size_t loops = 0;
  /// If set, incremented (relaxed) as each request finishes, so a caller can show progress from
  /// another thread. NOTE: must outlive the fetcher.
  std::atomic<std::size_t>* completed = nullptr;
  /// If set, told each finished request's Outcome (after `completed` counts it). NOTE: must
  /// outlive the fetcher.
  outcome_observer* observer = nullptr;
  /// CPU work after each complete response, on the thread that received it (a calibrated hash,
  /// impls/response_work.hpp): what a program does with what it fetched. 0: none.
  std::chrono::nanoseconds work{0};
  /// A blocking sleep after each complete response, on that thread (a synchronous call inside
  /// the model's loop or worker; after `work` when both are set). 0: none.
  std::chrono::nanoseconds block{0};
  /// https (the models whose model_info::https is set): a PEM file of the certificate
  /// authorities to trust instead of the system's (curl's --cacert); empty: the system's.
  std::string cacert;
  /// https without verifying the server's certificate or name (curl's --insecure).
  bool insecure = false;
};

/// A way of fetching a batch of URLs. Not thread-safe: one fetch_all at a time.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  /// Fetches every request; returns one Outcome per request, in request order.
  virtual std::vector<Outcome> fetch_all(std::span<const Request> requests) = 0;
  /// Open loop (impls/open_loop.hpp): sends request i at send_at[i] (ascending), or as soon as
  /// fewer than Options::concurrency are in flight if it is late; queues what cannot go yet and
  /// drops nothing. Each Outcome records intended (send_at[i]), start (sent), end, and whether it
  /// was sent and finished; a request sent more than limits.max_lag late stops the run (the rest
  /// stay unsent, stopped_early), and nothing runs past limits.deadline (what is in flight then is
  /// incomplete). REQUIRES: send_at.size() == requests.size().
  virtual schedule_result fetch_schedule(std::span<const Request> requests,
                                         std::span<const Clock::time_point> send_at,
                                         const schedule_limits& limits) = 0;
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
  // The model's factors (docs/models.md), so that a comparison can change one at a time.
  std::string_view library;  ///< whose HTTP code: libcurl, beast, own (or a reference's)
  std::string_view
      mechanism;  ///< one_at_a_time, thread_per_request, event_loop, event_loop_per_core
  std::string_view interface;  ///< how it waits on the kernel: blocking, epoll, io_uring
  /// Speaks https (Options::cacert, Options::insecure). A model that does not fails an https
  /// request as ErrorKind::connect ("does not speak https").
  bool https = false;
};

/// Every registered model, in registry order.
std::span<const model_info> models();

/// The model registered under `name`; nullptr when there is none.
const model_info* find_model(std::string_view name);

/// Why the model registered under `name` cannot run on this machine, in one line (uring where
/// io_uring is refused: kernel.io_uring_disabled, a seccomp filter, a kernel without it); empty
/// when it can, or when no model has that name. Callers skip such a model and print the line: it
/// is not a failure. NOTE: asks the kernel each time (uring: sets up and tears down a ring).
std::string model_unavailable(std::string_view name);

/// Creates the fetcher registered under `name`. Throws std::invalid_argument for an unknown name
/// or concurrency 0, std::runtime_error for a model that cannot run here (model_unavailable()).
std::unique_ptr<Fetcher> make_fetcher(std::string_view name, const Options& options);

/// The registered names, in registry order (models()' names).
std::span<const std::string_view> fetcher_names();

}  // namespace iobench
