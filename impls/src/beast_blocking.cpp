#include "beast_blocking.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

namespace iobench::detail {

using boost::system::error_code;

Outcome beast_blocking::perform(const Request& request, Clock::time_point deadline) {
  Outcome out;
  out.start = Clock::now();
  const Clock::time_point own = out.start + options_.timeout;
  const Clock::time_point until = std::min(own, deadline);
  fetch(request.url, out, until);
  out.end = Clock::now();
  // Cut off by the end of an open-loop run, not by its own timeout: incomplete, not an error.
  if (out.error == ErrorKind::timeout && until < own) out.finished = false;
  return out;
}

void beast_blocking::fetch(const std::string& url, Outcome& out, Clock::time_point deadline) {
  if (url != url_) {
    url_ = url;
    target_ = parse_target(url, true);
    if (target_.error.empty()) {
      key_ = target_.host + ":" + target_.port;
      request_ = get_request(target_, options_.keep_alive);
    }
  }
  if (!target_.error.empty()) {
    out.error = ErrorKind::connect;
    out.detail = target_.error;
    return;
  }
  for (int attempt = 0;; ++attempt) {
    const bool reused = fd_ >= 0 && peer_ == key_;
    if (!reused) {
      close();
      const auto began = Clock::now();
      std::string why = connect(deadline);
      if (why.empty() && target_.tls) why = handshake(deadline);
      if (!why.empty()) {
        close();
        out.error = ErrorKind::connect;
        out.detail = std::move(why);
        return;
      }
      out.new_connection = true;
      out.connect_time = Clock::now() - began;
    }
    // A reused connection the server closed while idle fails before any byte comes back: that
    // is not the request's fault, so it gets one retry on a fresh connection.
    const bool may_retry = reused && attempt == 0;
    if (const int error = send_request(deadline); error != 0) {
      close();
      if (may_retry && error != ETIMEDOUT) continue;
      out.error = error == ETIMEDOUT ? ErrorKind::timeout : ErrorKind::reset;
      out.detail = error == ETIMEDOUT ? std::string("write: total timeout")
                                      : std::string("write: ") + std::strerror(error);
      return;
    }
    const ErrorKind error = read_response(deadline, out);
    if (error != ErrorKind::none) {
      close();
      if (may_retry && !response_.got_bytes() && error != ErrorKind::timeout) {
        out.detail.clear();
        out.body_bytes = 0;
        continue;
      }
      out.status = 0;
      out.error = error;
    }
    return;
  }
}

std::string beast_blocking::connect(Clock::time_point deadline) {
  const Clock::time_point until = std::min(deadline, Clock::now() + options_.connect_timeout);
  if (address_key_ != key_) {
    address_key_.clear();
    if (std::string why = resolve_target(target_, address_, address_size_); !why.empty()) {
      return why;
    }
    address_key_ = key_;
  }
  for (;;) {
    fd_ = ::socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ >= 0) break;
    const int error = errno;
    const bool no_descriptor = error == EMFILE || error == ENFILE;
    if (!no_descriptor || gate_ == nullptr || !gate_->wait(until)) {
      return std::string("socket: ") + std::strerror(error);
    }
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address_), address_size_) != 0) {
    int error = errno;
    if (error == EINPROGRESS) {
      const int ready = wait_for(POLLOUT, until);
      if (ready == 0) {
        close();
        return "connect timeout";
      }
      socklen_t size = sizeof error;
      error = ready < 0 ? -ready : 0;
      if (ready > 0) ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
    }
    if (error != 0) {
      close();
      return std::string("connect: ") + std::strerror(error);
    }
  }
  peer_ = key_;
  return {};
}

std::string beast_blocking::handshake(Clock::time_point deadline) {
  if (!tls_) tls_ = std::make_unique<tls_client_context>(options_);
  if (!tls_->error().empty()) return tls_->error();
  ssl_ = SSL_new(tls_->asio().native_handle());
  BIO* bio = ssl_ == nullptr ? nullptr : quiet_socket_bio(fd_);
  if (bio == nullptr) return "tls: cannot set up the connection";
  SSL_set_bio(ssl_, bio, bio);
  if (!tls_->prepare(ssl_, target_.host, session_.for_peer(key_))) {
    return "tls: cannot set up the connection";
  }
  const Clock::time_point until = std::min(deadline, Clock::now() + options_.connect_timeout);
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return {};
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      const int ready = wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until);
      if (ready > 0) continue;
      if (ready == 0) return "connect timeout: tls handshake";
      return std::string("tls: poll: ") + std::strerror(-ready);
    }
    const int system_error = errno;
    std::string why = tls_error_reason(ssl_);
    if (why.empty()) {
      why = error == SSL_ERROR_SYSCALL && system_error != 0 ? std::strerror(system_error)
                                                            : "the server ended the handshake";
    }
    return "tls: " + why;
  }
}

namespace {

// What an SSL call's result means as a send or recv's: see send_some.
ssize_t tls_result(SSL* ssl, int rc, short& events) {
  if (rc > 0) return rc;
  const int system_error = errno;
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      events = POLLIN;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      events = POLLOUT;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or a close without it (tls_client.hpp)
      return 0;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (system_error == 0) return 0;
      errno = system_error;
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

}  // namespace

ssize_t beast_blocking::send_some(const char* data, std::size_t size, short& events) {
  events = POLLOUT;
  if (ssl_ == nullptr) return ::send(fd_, data, size, MSG_NOSIGNAL);
  errno = 0;
  const int rc = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  return tls_result(ssl_, rc, events);
}

ssize_t beast_blocking::recv_some(char* data, std::size_t size, short& events) {
  events = POLLIN;
  if (ssl_ == nullptr) return ::recv(fd_, data, size, 0);
  errno = 0;
  const int rc = SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX)));
  return tls_result(ssl_, rc, events);
}

int beast_blocking::send_request(Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < request_.size()) {
    short events = 0;
    const ssize_t n = send_some(request_.data() + sent, request_.size() - sent, events);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    const int error = n == 0 ? EPIPE : errno;
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) return error;
    const int ready = wait_for(events, deadline);
    if (ready == 0) return ETIMEDOUT;
    if (ready < 0) return -ready;
  }
  return 0;
}

ErrorKind beast_blocking::read_response(Clock::time_point deadline, Outcome& out) {
  response_.start();
  for (;;) {
    std::optional<ErrorKind> ended = response_.parse(buffer_, deadline, out);
    if (!ended) {
      const auto space = buffer_.prepare(response_.room(buffer_));
      short events = 0;
      const ssize_t n = recv_some(static_cast<char*>(space.data()), space.size(), events);
      if (n > 0) {
        buffer_.commit(static_cast<std::size_t>(n));
        continue;
      }
      error_code ec;
      if (n == 0) {
        ec = boost::asio::error::eof;
      } else if (errno == EINTR) {
        continue;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        const int ready = wait_for(events, deadline);
        if (ready > 0) continue;
        ec = ready == 0 ? error_code(boost::beast::error::timeout)
                        : error_code(-ready, boost::system::system_category());
      } else {
        ec = error_code(errno, boost::system::system_category());
      }
      ended = response_.read_ended(ec, out);
    }
    // Bytes past the response in this read are no response to anything we sent: they go with
    // the connection (as libcurl does).
    if (*ended == ErrorKind::none &&
        (!options_.keep_alive || !response_.keep_alive() || buffer_.size() > 0)) {
      close();
    }
    return *ended;
  }
}

int beast_blocking::wait_for(short events, Clock::time_point deadline) const {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) return 0;
    // Rounded up, so that a wait never ends just before its deadline and spins.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return -errno;
  }
}

void beast_blocking::close() {
  if (ssl_ != nullptr) {
    // Without close_notify, as most HTTP clients close: the framing already ended the response.
    if (SSL_is_init_finished(ssl_) == 1) session_.keep_at_close(ssl_, peer_);
    SSL_free(ssl_);  // and its BIO, which leaves fd_ open
    ssl_ = nullptr;
  }
  buffer_.clear();
  peer_.clear();
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (gate_ != nullptr) gate_->freed();
}

}  // namespace iobench::detail
