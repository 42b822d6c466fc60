// Reference rows in the same run as the C++ models: the blog posts' Python code (py_asyncio,
// py_threads, py_sequential, run as child processes by /usr/bin/python3), Node's fetch, any
// client named with --reference NAME=COMMAND, and wrk as the ceiling at zero delay. A child
// times its own batches and reports its own CPU and RSS, so the interpreter's start-up is not in
// the numbers; the harness checks them against the kernel's and the server's (runners.cpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "impls/fetcher.hpp"

namespace iobench::bench {

/// "wrk": the zero-delay ceiling.
inline constexpr std::string_view kWrk = "wrk";

/// How a reference row is run.
/// How a reference row runs: a child speaking the batch protocol (bench/reference/common.py),
/// or wrk for a fixed duration.
enum class reference_runner { child, wrk };

/// A reference row: the same metadata the registry keeps for a model, and how it runs.
struct reference_info {
  model_info info;
  reference_runner runner;
  /// A child's runtime: "python" (IOBENCH_PYTHON, default /usr/bin/python3) or "node"
  /// (IOBENCH_NODE, default /usr/bin/node), which run `program` from bench/reference; "go", a
  /// program built with iobench from bench/reference/`program` into the directory of the running
  /// executable; "command", which runs `command`.
  std::string_view runtime = {};
  std::string_view program = {};
  /// What the child needs beyond its runtime: a Python module to import ("" for none; for node,
  /// a global fetch; for go, the built program's name), and the Debian package that brings it.
  std::string_view needs = {};
  std::string_view package = {};
  /// A client named on the command line (--reference NAME=COMMAND): the command it runs as the
  /// child, split into words as a shell would (no substitutions); empty for the others.
  std::string_view command = {};
};

/// The batch protocol's version (docs/reference_protocol.md): sent with every batch; a child
/// that answers with another one is refused.
inline constexpr int kProtocolVersion = 1;

/// The reference rows, in the order reports list them: the manifests in bench/reference
/// (*.ref, by their `order`; or IOBENCH_REFERENCE_DIR), those added by add_reference(), then wrk.
/// Read once; throws std::invalid_argument naming the file and line of a bad manifest.
std::span<const reference_info> references();
/// The references the manifests in `dir` (*.ref) describe, by their `order`, then name; the
/// strings they view are kept in `text`. Throws std::invalid_argument naming the file and line
/// of a bad manifest, or two references of one name.
std::vector<reference_info> read_manifests(const std::filesystem::path& dir,
                                           std::deque<std::string>& text);
/// Adds a client that speaks the batch protocol, run as `command` (--reference NAME=COMMAND),
/// before anything has listed the references. Throws std::invalid_argument, with the reason on
/// one line, for a name that breaks the registry's rule or is taken, or an empty command.
void add_reference(std::string_view name, std::string_view command);
/// True for the references that run as a child speaking the batch protocol (Python, Node).
bool is_child_reference(std::string_view impl);

/// Why the reference `impl` cannot run on this machine (its runtime or module is missing, with
/// the package to install), or "" when it can, or when `impl` is no reference. Asked once per
/// reference and process (it starts the runtime to check).
std::string reference_unavailable(std::string_view impl);

/// One batch as a reference child saw it.
struct child_batch {
  std::vector<Outcome> outcomes;
  double wall_s = 0;     ///< timed inside the child
  double cpu_s = 0;      ///< the child's user + system time for the batch
  double vol_csw = 0;    ///< the child's voluntary context switches in the batch (0: not told)
  double invol_csw = 0;  ///< and involuntary ones
  double rss_start_mib = 0;
  double peak_rss_mib = 0;  ///< the child's peak RSS so far
  double threads = 0;       ///< the child's peak thread count during the batch
  /// What the kernel says of the child (/proc/PID), from the batch's request to its answer:
  /// its CPU time (the protocol's own work included), and its peak RSS so far.
  double kernel_cpu_s = 0;
  double kernel_peak_rss_mib = 0;
};

/// A reference client as a child process that runs batch after batch (one JSON line each way:
/// docs/reference_protocol.md), started by an empty batch it must answer first. A child that
/// does not answer in time (its start-up: kChildStartWait, IOBENCH_CHILD_START_S to change it; a
/// batch: every wave at its timeout, then as long again as the start-up) fails the run, never
/// hangs it. Throws
/// std::runtime_error when it cannot start or dies, with its stderr. Its stderr file
/// (/tmp/iobench-ref-*) is removed at the end, and on SIGINT/SIGTERM (interrupt.hpp).
class child_runner {
 public:
  child_runner(std::string_view impl, const Options& options);
  ~child_runner();
  child_runner(const child_runner&) = delete;
  child_runner& operator=(const child_runner&) = delete;

  child_batch run(std::span<const Request> requests);
  /// The child's process id.
  [[nodiscard]] pid_t pid() const { return pid_; }

 private:
  [[noreturn]] void fail(const std::string& what);
  // Ends the child, removes the stderr file, forgets the interrupt registration.
  void stop() noexcept;
  // Writes all of `bytes` to the child by `deadline`; fails (throws) past it, or when it left.
  void send(std::string_view bytes, Clock::time_point deadline, const std::string& what);
  // The child's next line by `deadline`; fails past it; empty when it closed its stdout.
  std::string receive(Clock::time_point deadline, const std::string& what);
  Options options_;
  bool one_at_a_time_ = false;
  pid_t pid_ = -1;
  int to_child_ = -1;     ///< its stdin, non-blocking
  int from_child_ = -1;   ///< its stdout, non-blocking
  std::string received_;  ///< what it wrote past the last line taken
  std::filesystem::path stderr_file_;
  int cleanup_ = -1;  ///< on_interrupt token for stderr_file_
};

/// What one wrk run gives.
struct wrk_result {
  double requests = 0;
  double seconds = 0;
  double req_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  double errors = 0;     ///< socket errors plus non-2xx/3xx responses
  double cpu_s = 0;      ///< wrk's own user + system time
  double vol_csw = 0;    ///< wrk's voluntary context switches (wait4's rusage)
  double invol_csw = 0;  ///< and involuntary ones
  double peak_rss_mib = 0;
};

/// Where wrk is; nullopt when it is not installed.
std::optional<std::filesystem::path> find_wrk();

/// Runs `wrk -t<threads> -c<connections> -d<duration> --latency url`. Throws std::runtime_error
/// with wrk's output when it fails or prints nothing parseable.
wrk_result run_wrk(const std::filesystem::path& wrk, const std::string& url, std::size_t threads,
                   std::size_t connections, std::chrono::seconds duration);

/// Parses wrk's --latency report (exposed for tests).
wrk_result parse_wrk_output(std::string_view text);

}  // namespace iobench::bench
