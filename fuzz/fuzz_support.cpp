#include "fuzz_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace iobench::fuzz {
namespace {

constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::size_t kHeadKept = 256;
constexpr std::size_t kMaxRequestHead = 64 * 1024;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int ms_until(Clock::time_point t) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1000));
}

}  // namespace

std::vector<std::string_view> split_parts(std::string_view input) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = input.find(kNextMarker);
    parts.push_back(input.substr(0, at));
    if (at == std::string_view::npos) return parts;
    input.remove_prefix(at + kNextMarker.size());
  }
}

byte_stream::byte_stream(std::string_view input, std::size_t flood_cap) {
  const auto at = input.find(kFloodMarker);
  const std::string_view unit =
      at == std::string_view::npos ? std::string_view{} : input.substr(at + kFloodMarker.size());
  prefix_ = at == std::string_view::npos ? input : input.substr(0, at);
  total_ = prefix_.size();
  if (!unit.empty()) {
    unit_size_ = unit.size();
    while (block_.size() < kBlockBytes) block_ += unit;
    total_ = std::max(total_, flood_cap);
  }
}

std::string_view byte_stream::peek(std::size_t max) {
  if (sent_ < prefix_.size()) return prefix_.substr(sent_, max);
  const std::size_t n = std::min(max, remaining());
  if (n == 0) return {};
  // Flood bytes continue the unit where the last write left it.
  const std::size_t phase = (sent_ - prefix_.size()) % unit_size_;
  return std::string_view(block_).substr(phase, std::min(n, block_.size() - phase));
}

void finding(const std::string& what) {
  std::fprintf(stderr, "iobench-fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) throw_errno("bind");
  if (::listen(fd, 128) < 0) throw_errno("listen");
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) throw_errno("getsockname");
  port = ntohs(a.sin_port);
  set_nonblocking(fd);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  const sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("connect");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  set_nonblocking(fd);
  return fd;
}

int accept_until(int listen_fd, Clock::time_point deadline) {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return fd;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return -1;
    pollfd p{listen_fd, POLLIN, 0};
    ::poll(&p, 1, ms_until(deadline));
  }
}

exchange_result exchange(int fd, byte_stream& out, const exchange_limits& lim) {
  exchange_result r;
  const auto start = Clock::now();
  const auto end_by = start + lim.total;
  auto last_write = start;
  auto last_read = start;
  bool writing = true;
  bool shut = false;
  char buf[16 * 1024];
  for (;;) {
    const auto now = Clock::now();
    if (writing && out.remaining() == 0) writing = false;
    if (writing && now - last_write > lim.stall) {
      writing = false;
      r.write_stalled = true;
    }
    if (!writing && !shut) {
      if (lim.half_close) ::shutdown(fd, SHUT_WR);
      shut = true;
      last_read = now;  // the quiet period counts from the half-close
      if (!lim.read_until_close) return r;
    }
    if (now >= end_by) return r;
    if (shut && now - last_read > lim.quiet) {
      r.quiet_too_long = true;
      return r;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)), 0};
    const int ready = ::poll(&p, 1, std::min(ms_until(end_by), 50));
    if (ready < 0 && errno != EINTR) return r;
    if (ready <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (r.head.size() < kHeadKept) {
          r.head.append(
              buf, std::min<std::size_t>(static_cast<std::size_t>(n), kHeadKept - r.head.size()));
        }
        r.received += static_cast<std::size_t>(n);
        last_read = Clock::now();
        if (lim.stop_writing_on_answer) writing = false;
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        r.closed = true;
        if (writing) r.write_stopped = true;
        return r;
      }
    }
    if (writing && (p.revents & POLLOUT)) {
      const std::string_view piece = out.peek(kBlockBytes);
      const ssize_t n = ::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out.advance(static_cast<std::size_t>(n));
        r.sent += static_cast<std::size_t>(n);
        last_write = Clock::now();
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The peer is gone (EPIPE, ECONNRESET): what it sent before still counts.
        writing = false;
        r.write_stopped = true;
      }
    }
  }
}

bool read_request_head(int fd, Clock::time_point deadline) {
  std::string got;
  char buf[4096];
  while (got.size() < kMaxRequestHead) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      got.append(buf, static_cast<std::size_t>(n));
      if (got.find("\r\n\r\n") != std::string::npos) return true;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return false;
    if (Clock::now() >= deadline) return false;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, ms_until(deadline));
  }
  return false;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace iobench::fuzz
