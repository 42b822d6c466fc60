// Internal: the client side of TLS for the models that write their own HTTP (the Beast models:
// coroutine, coroutine_mt, beast_sync, beast_pool), as libcurl does it for the others: the
// system's certificate authorities or Options::cacert, the server's name or address checked
// against its certificate unless Options::insecure, SNI for a name, TLS 1.2 and 1.3.
//
// Sessions: each connection keeps the session of the last one it closed to the same server and
// offers it on the next handshake, so a client that opens a connection per request resumes (an
// abbreviated handshake) when the server allows it, as libcurl does with its session cache. The
// server counts both (/stats tls_handshakes, tls_resumed), so a row says what it paid.
//
// A peer that closes without TLS's close_notify reads as a plain end of stream: HTTP's own
// framing (Content-Length, chunks) says whether the response was whole, as it does over http,
// so a fault keeps the error kind it has there.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "impls/fetcher.hpp"

namespace iobench::detail {

/// What every TLS connection of one client shares: the verification settings and authorities.
class tls_client_context {
 public:
  /// Never throws for a bad Options::cacert: each https request then fails as `connect` with
  /// error() (a per-request failure, like any other).
  explicit tls_client_context(const Options& options);

  /// Why no connection can be made (an unreadable --cacert), or empty.
  [[nodiscard]] const std::string& error() const { return error_; }
  /// For Asio's ssl::stream.
  boost::asio::ssl::context& asio() { return context_; }

  /// Sets up a new connection's SSL object to `host` (a name or an address, no brackets): SNI
  /// for a name, the name or address its certificate must carry (unless insecure), and `session`
  /// to resume when it is for this host. Returns false when OpenSSL refused (out of memory).
  bool prepare(SSL* ssl, const std::string& host, SSL_SESSION* session) const;

 private:
  boost::asio::ssl::context context_;
  bool verify_;
  std::string error_;
};

/// The session of a connection's last TLS connection to a server, offered to its next one.
class tls_session {
 public:
  tls_session() = default;
  ~tls_session() { forget(); }
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// Keeps `ssl`'s session for `peer` ("host:port") when the server will take it back. Call
  /// just before freeing `ssl` (REQUIRES: its handshake finished): it marks it shut down, without
  /// a close_notify, which keeps its session resumable.
  void keep_at_close(SSL* ssl, const std::string& peer);
  /// The session kept for `peer`, or null.
  [[nodiscard]] SSL_SESSION* for_peer(const std::string& peer) const {
    return peer == peer_ ? session_ : nullptr;
  }
  void forget();

 private:
  SSL_SESSION* session_ = nullptr;
  std::string peer_;
};

/// A BIO over the connected socket `fd` (not closed with it) that writes with MSG_NOSIGNAL:
/// OpenSSL's own socket BIO write()s, and a peer that has gone raises SIGPIPE, which ends the
/// process. For the models that drive OpenSSL on their own sockets (beast_blocking.hpp). Null
/// when out of memory.
BIO* quiet_socket_bio(int fd);

/// A one-line reason for the last OpenSSL error on this thread (the verifier's when `ssl`'s
/// certificate check failed), clearing the queue; empty when there is none.
std::string tls_error_reason(SSL* ssl);

}  // namespace iobench::detail
