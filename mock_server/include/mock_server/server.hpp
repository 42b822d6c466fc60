// The mock HTTP server: Boost.Asio C++20 coroutines with Boost.Beast's parser, one coroutine per
// connection, N event-loop threads. Injected delays are timers on the event loop, so a thread is
// never blocked and 10,000 delayed requests cost 10,000 timers, not 10,000 threads. While a delay
// runs the connection is watched for readability: a client that leaves cancels its timer.
//
// Usage (tests start one in-process on port 0):
//   iobench::mock::server s({.port = 0});
//   s.start();
//   fetch(s.url() + "/x?delay=100ms");
//   s.stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "mock_server/behaviour.hpp"
#include "mock_server/stats.hpp"

namespace iobench::mock {

/// Default grace for in-flight requests when the server stops.
inline constexpr std::chrono::seconds kDefaultGrace{5};

/// HTTPS instead of plain HTTP (docs/mock_server.md, "TLS"). Off unless `enabled`.
struct tls_config {
  bool enabled = false;
  /// PEM certificate chain and private key; both empty: a certificate authority and a server
  /// certificate it signed are made at start-up.
  std::string cert_file;
  std::string key_file;
  /// Where the made authority's certificate is written (PEM), for clients to trust; "": nowhere.
  std::string cert_out;
  /// Session resumption (tickets, and the session cache for TLS 1.2 session ids).
  bool tickets = true;
};

/// Everything the command line can set. Defaults match `mock_server --help`.
struct server_config {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: an ephemeral port, see server::port()
  unsigned threads = 0;    ///< event-loop threads; 0: one per CPU this process may run on
  behaviour defaults;      ///< used for whatever a request's query does not say
  std::uint64_t seed = 1;  ///< seeds the per-thread generators of requests without `seed`
  /// Added to every behaviour request's sampled delay: a uniformly slower network (the
  /// regression gate's end-to-end check uses it to inject a real slowdown).
  std::chrono::nanoseconds extra_delay{0};
  limits lim;
  std::uint64_t max_connections = 100000;  ///< beyond it new connections get 503 and are closed
  /// A connection waiting this long for its next request (or for the rest of its headers) is
  /// closed.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds{120};
  tls_config tls;
};

/// A running mock server. Construction binds and listens (throws std::system_error if it cannot;
/// std::runtime_error for a TLS certificate or key it cannot use);
/// start() runs the event loops; stop() drains and joins. Not copyable or movable.
class server {
 public:
  explicit server(server_config config);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Starts the event-loop threads. REQUIRES: called once.
  void start();
  /// Stops accepting, closes idle connections, lets in-flight requests finish for up to `grace`,
  /// then closes everything and joins the threads. Idempotent; safe from any thread except the
  /// server's own.
  void stop(std::chrono::nanoseconds grace = kDefaultGrace);

  /// Event-loop threads (each with its own listening socket on the port).
  [[nodiscard]] unsigned threads() const;
  /// The bound port (the real one when the config asked for 0).
  [[nodiscard]] std::uint16_t port() const;
  /// "http://HOST:PORT" with the bound address ("https://" with TLS).
  [[nodiscard]] std::string url() const;
  /// The counters served by GET /stats.
  [[nodiscard]] stats_snapshot stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace iobench::mock
