#include "beast_blocking.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
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
    target_ = parse_target(url);
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
      if (std::string why = connect(deadline); !why.empty()) {
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

int beast_blocking::send_request(Clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < request_.size()) {
    const ssize_t n = ::send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) return error;
    const int ready = wait_for(POLLOUT, deadline);
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
      const ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
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
        const int ready = wait_for(POLLIN, deadline);
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
  buffer_.clear();
  peer_.clear();
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (gate_ != nullptr) gate_->freed();
}

}  // namespace iobench::detail
