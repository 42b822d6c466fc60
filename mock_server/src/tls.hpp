// Internal: the server's TLS context (OpenSSL 3 through Asio's ssl::context), made once and shared
// by every loop: SSL_CTX is safe to create connections from on many threads.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "mock_server/server.hpp"

namespace iobench::mock::detail {

/// The context for `cfg` (REQUIRES: cfg.enabled): TLS 1.2 and 1.3, the certificate and key from
/// the files, or a certificate authority and a server certificate made now (the authority's
/// certificate written to cfg.cert_out, for clients to trust), session tickets and the session
/// cache on or off. Throws std::runtime_error with a one-line reason (an unreadable file, a key
/// that does not match its certificate, an unwritable --cert-out).
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const tls_config& cfg,
                                                            const std::string& bind_address);

/// The PEM text of a certificate authority and a server certificate it signed, both made now:
/// the server certificate names localhost, 127.0.0.1, ::1 and `bind_address` (when it is a
/// specific address) and is valid from an hour ago for 30 days.
struct generated_identity {
  std::string ca_pem;    ///< what clients trust (--cert-out)
  std::string cert_pem;  ///< the server's certificate
  std::string key_pem;   ///< its private key (P-256)
};
generated_identity generate_identity(const std::string& bind_address);

}  // namespace iobench::mock::detail
