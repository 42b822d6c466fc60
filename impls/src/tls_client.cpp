#include "tls_client.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

namespace iobench::detail {
namespace {

bool is_address(const std::string& host) {
  unsigned char bytes[16];
  return ::inet_pton(AF_INET, host.c_str(), bytes) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), bytes) == 1;
}

int bio_fd(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

// Sets the retry flags OpenSSL reads to tell "would block" (SSL_ERROR_WANT_*) from a failure.
int bio_result(BIO* bio, ssize_t n, bool reading) {
  BIO_clear_retry_flags(bio);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    reading ? BIO_set_retry_read(bio) : BIO_set_retry_write(bio);
  }
  return -1;
}

int bio_write(BIO* bio, const char* data, int size) {
  return bio_result(bio, ::send(bio_fd(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL),
                    false);
}

int bio_read(BIO* bio, char* data, int size) {
  return bio_result(bio, ::recv(bio_fd(bio), data, static_cast<std::size_t>(size), 0), true);
}

long bio_ctrl(BIO*, int command, long, void*) {
  // Writes are not buffered, so a flush has nothing to do; nothing else is asked of a socket.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

}  // namespace

BIO* quiet_socket_bio(int fd) {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "iobench socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
    }
    return m;
  }();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  BIO_set_init(bio, 1);
  return bio;
}

tls_client_context::tls_client_context(const Options& options)
    : context_(boost::asio::ssl::context::tls_client), verify_(!options.insecure) {
  SSL_CTX* ctx = context_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // HTTP's framing judges a response cut short, as over http (tls_client.hpp).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(ctx, verify_ ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!verify_) return;
  const bool loaded = options.cacert.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                             : SSL_CTX_load_verify_locations(
                                                   ctx, options.cacert.c_str(), nullptr) == 1;
  if (!loaded) {
    error_ = options.cacert.empty() ? "tls: cannot load the system's certificate authorities: "
                                    : "tls: cannot use --cacert '" + options.cacert + "': ";
    const std::string why = tls_error_reason(nullptr);
    error_ += why.empty() ? "unknown error" : why;
  }
}

bool tls_client_context::prepare(SSL* ssl, const std::string& host, SSL_SESSION* session) const {
  const bool address = is_address(host);
  // SNI names a host; RFC 6066 forbids sending an address in it.
  if (!address && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
  if (verify_) {
    const int set = address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                            : SSL_set1_host(ssl, host.c_str());
    if (set != 1) return false;
  }
  return session == nullptr || SSL_set_session(ssl, session) == 1;
}

void tls_session::keep_at_close(SSL* ssl, const std::string& peer) {
  // SSL_free of a connection that was not shut down takes it for cut off and makes its session
  // unresumable; this one ends by HTTP's framing, so it is marked as shut down, quietly.
  SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_SESSION* session = SSL_get1_session(ssl);
  if (session == nullptr) return;
  if (SSL_SESSION_is_resumable(session) != 1) {
    SSL_SESSION_free(session);
    return;
  }
  forget();
  session_ = session;
  peer_ = peer;
}

void tls_session::forget() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = nullptr;
  peer_.clear();
}

std::string tls_error_reason(SSL* ssl) {
  std::string why;
  if (ssl != nullptr) {
    const long verified = SSL_get_verify_result(ssl);
    if (verified != X509_V_OK) why = X509_verify_cert_error_string(verified);
  }
  if (why.empty()) {
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
    if (reason != nullptr) why = reason;
  }
  ERR_clear_error();
  return why;
}

}  // namespace iobench::detail
