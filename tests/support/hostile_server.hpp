// A hostile HTTP server for client tests: a raw-socket listener on 127.0.0.1:0 that answers each
// request with a scripted byte sequence chosen by the request's path, where the mock server would
// answer correctly. It exists to show how the fetchers take what a broken or malicious server
// sends: interim 1xx responses, malformed status lines, bad chunking, headers or chunk extensions
// or trailers that never end, bodies that never end, resets and closes at every step.
//
// Plain POSIX sockets and one thread per connection: nothing here shares code with the mock
// server (or with Beast's or libcurl's parsers), so the bytes on the wire are exactly the script's.
// With TLS the same scripts run inside OpenSSL on that socket: the bytes of the HTTP stream are
// the script's, a close sends close_notify before the FIN, a reset stays a bare RST. Only the
// certificate comes from the mock server's code (a certificate authority and a server
// certificate made at start, the authority's written to ca()).
//
// Scripts are looked up by the path's first segment (`/100-continue?n=5`); `n` (default 0) sizes
// the body of a well-formed response, so a test can tell each request's answer apart. An unknown
// path gets a 404. A script ends by reading the connection's next request, holding the
// connection open until the client leaves, closing it (FIN) or resetting it (RST). Endless
// scripts write as fast as the client reads, until it goes away or the server stops.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace iobench::test {

/// Starts a hostile server on 127.0.0.1:0; stops it, closing every connection, on scope exit.
class hostile_server {
 public:
  /// `tls`: serve the scripts over TLS (see the file note).
  explicit hostile_server(bool tls = false);
  ~hostile_server();
  hostile_server(const hostile_server&) = delete;
  hostile_server& operator=(const hostile_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// "http://127.0.0.1:PORT" ("https://" with TLS).
  [[nodiscard]] std::string url() const;
  /// With TLS: the file of the authority that signed the server's certificate; empty without.
  [[nodiscard]] std::string ca() const { return ca_.string(); }
  /// Connections accepted so far.
  [[nodiscard]] std::size_t connections_accepted() const { return accepted_.load(); }
  /// Requests read so far (every connection, every script).
  [[nodiscard]] std::size_t requests() const { return requests_.load(); }

  /// Every script's name ("100-continue", "status-000", ...).
  static std::vector<std::string_view> scripts();

 private:
  void accept_loop();
  void serve(int fd);

  struct tls_state;  // the TLS context, when serving TLS
  std::filesystem::path ca_;
  std::shared_ptr<tls_state> tls_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> requests_{0};
  std::mutex mutex_;       // guards open_ and workers_
  std::vector<int> open_;  // connections being served, to shut down on stop
  std::vector<std::thread> workers_;
  std::thread acceptor_;  // last: starts after everything it touches exists
};

}  // namespace iobench::test
