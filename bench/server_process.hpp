// The suite's own mock_server: a child process on an ephemeral port that lives exactly as long
// as the benchmark run, plus the two control calls the suite makes (/stats/reset, /stats).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace iobench::bench {

/// The mock_server child rejected its command line (--server-args): it exited with status 2.
/// what() is its own one-line message.
class server_usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A mock_server child. Construction starts it and waits until /healthz answers (throws
/// server_usage_error, or std::runtime_error with the child's own output, if it does not);
/// destruction stops it (SIGTERM, then SIGKILL) and removes its temporary directory. The child
/// also dies if this process is killed (PR_SET_PDEATHSIG); on SIGINT/SIGTERM it is stopped and
/// its directory removed before this process dies (interrupt.hpp).
class server_process {
 public:
  /// `cpus`: the CPUs the server may run on (empty: this process's); with `--threads auto` (its
  /// default) the server runs one event loop per CPU it is given. `tls`: it serves https
  /// (`--tls`), with a certificate authority made at its start whose certificate is cacert().
  server_process(const std::filesystem::path& binary, const std::vector<std::string>& args,
                 const std::vector<int>& cpus = {}, bool tls = false);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  /// With tls: the PEM file of the authority that signed the server's certificate (for
  /// Options::cacert); empty without.
  [[nodiscard]] const std::string& cacert() const { return cacert_; }

  /// Why the child no longer runs ("exited with status 0", "was killed by SIGKILL"), reaping it
  /// if it has ended; empty while it runs. Thread-safe (a watch thread asks while benchmarks run).
  std::string ended();

  /// Kills the child at once (SIGKILL): one that stopped answering, so that every connection to
  /// it is reset and whatever waits on it fails now rather than at its timeout. Thread-safe.
  void kill_now() noexcept;

 private:
  // Starts the child in dir_ and waits until it answers.
  void start(const std::filesystem::path& binary, std::vector<std::string> args,
             const std::vector<int>& cpus);
  // Stops the child, removes dir_, forgets the interrupt registrations.
  void stop() noexcept;

  std::mutex mutex_;  ///< guards pid_ and ended_ between the run and its watch thread
  pid_t pid_ = -1;
  std::string ended_;  ///< why the child ended, once reaped by ended()
  std::filesystem::path dir_;
  std::string url_;
  std::string cacert_;
  std::vector<int> cleanup_;  ///< on_interrupt tokens for the child and the directory
};

/// What the suite reads from a server's /stats. The last four describe the server, not the
/// benchmark; older servers lack them (0, and -1 for listen_overflows).
struct server_counters {
  double requests = 0;        ///< requests it read (every path: /stats too)
  double tls_handshakes = 0;  ///< TLS handshakes completed (with --tls; 0 without)
  double tls_resumed = 0;     ///< of which resumed a session
  double max_in_flight = 0;
  double late_p99_ms = 0;
  double threads = 0;            ///< event-loop threads
  double cpus = 0;               ///< CPUs it may run on
  double cpu_s = 0;              ///< its process CPU time so far
  double listen_overflows = -1;  ///< the kernel's TcpExtListenOverflows on its host; -1: unknown
};

/// POST /stats/reset. Throws std::runtime_error if the server does not answer 200.
void reset_server_stats(const std::string& base_url);
/// GET /healthz: true when it answers 200 within `within`.
bool server_answers(const std::string& base_url, std::chrono::milliseconds within);
/// GET /stats. Throws std::runtime_error on failure.
server_counters read_server_stats(const std::string& base_url);

}  // namespace iobench::bench
