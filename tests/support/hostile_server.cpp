#include "hostile_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include "hostile_sets.hpp"
#include "mock_server/server.hpp"
#include "tls.hpp"  // mock_server/src: the certificate the mock server makes

namespace iobench::test {
namespace {

using namespace std::chrono_literals;

// How often a blocked wait looks at the stop flag.
constexpr int kPollMs = 50;
// A request head larger than this is not one our fetchers send.
constexpr std::size_t kMaxRequestHead = std::size_t{64} * 1024;
// What an endless script writes per send: big enough to outrun any client on loopback.
constexpr std::size_t kStreamUnit = std::size_t{64} * 1024;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// How a script leaves the connection.
enum class then {
  next_request,  // keep-alive: read and answer the connection's next request
  hold,          // say nothing more; wait until the client goes away
  close,         // FIN, once the client has nothing more to send
  reset,         // RST (SO_LINGER 0)
};

// One accepted connection, seen from a script.
class peer {
 public:
  peer(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
  ~peer() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  // Takes the client's TLS handshake on the socket (made non-blocking); false if it fails.
  bool accept_tls(SSL_CTX* ctx) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return false;
    for (;;) {
      const int rc = SSL_accept(ssl_);
      if (rc == 1) return true;
      if (!wait_for_tls(rc)) return false;
    }
  }

  // Reads one request head; returns its target, or "" when the client left or sent no request.
  std::string read_request() {
    for (;;) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::string head = pending_.substr(0, end);
        pending_.erase(0, end + 4);
        const auto sp1 = head.find(' ');
        const auto sp2 = head.find(' ', sp1 + 1);
        if (sp1 == std::string::npos || sp2 == std::string::npos) return {};
        return head.substr(sp1 + 1, sp2 - sp1 - 1);
      }
      if (pending_.size() > kMaxRequestHead || !read_some(pending_)) return {};
    }
  }

  // Sends each write at once, without waiting to coalesce small ones (Nagle).
  void no_delay() {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  // Sends every byte; false when the client is gone or the server stops.
  bool send(std::string_view bytes) {
    while (ssl_ != nullptr && !bytes.empty()) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (!wait_for_tls(n)) {
        return false;
      }
    }
    while (!bytes.empty()) {
      if (!wait(POLLOUT)) return false;
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Sends `unit` again and again until the client is gone or the server stops.
  void stream(std::string_view unit) {
    while (send(unit)) {
    }
  }

  // Reads and drops whatever comes until the client closes (or the server stops).
  void hold() {
    std::string sink;
    while (read_some(sink)) sink.clear();
  }

  // FIN; then waits for the client's own close, so that no unread byte turns the close into a
  // reset.
  void close() {
    if (ssl_ != nullptr) SSL_shutdown(ssl_);  // close_notify, not waiting for the client's
    ::shutdown(fd_, SHUT_WR);
    hold();
  }

  // RST: a close with a zero linger time discards the send queue and resets.
  void reset() const {
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }

 private:
  // Waits until the socket is ready for `events`; false on stop or a hung-up socket.
  bool wait(short events) {
    for (;;) {
      if (stopping_.load()) return false;
      pollfd p{fd_, events, 0};
      const int r = ::poll(&p, 1, kPollMs);
      if (r < 0 && errno != EINTR) return false;
      if (r > 0) return (p.revents & (POLLERR | POLLNVAL)) == 0 || (p.revents & events) != 0;
    }
  }

  // After an SSL call returned `rc` <= 0: waits for what OpenSSL asked for; false when it
  // failed, or the client left, or the server stops.
  bool wait_for_tls(int rc) {
    const int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ) return wait(POLLIN);
    if (error == SSL_ERROR_WANT_WRITE) return wait(POLLOUT);
    return false;
  }

  bool read_some(std::string& out) {
    std::array<char, std::size_t{16} * 1024> buf{};
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) return wait_for_tls(n);
      out.append(buf.data(), static_cast<std::size_t>(n));
      return true;
    }
    if (!wait(POLLIN)) return false;
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    out.append(buf.data(), static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  const std::atomic<bool>& stopping_;
  SSL* ssl_ = nullptr;   // over fd_, with TLS
  std::string pending_;  // bytes read past the last request head
};

std::string body(std::size_t n) { return std::string(n, 'x'); }

std::string ok(std::size_t n) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + body(n);
}

constexpr std::string_view kChunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string hex(std::size_t n) {
  std::array<char, 20> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n, 16);
  return {buf.data(), r.ptr};
}

// A chunked response of n body bytes in chunks of at most 100, each chunk-size line carrying
// `extension`, and `trailers` before the final CRLF.
std::string chunked(std::size_t n, std::string_view extension = {},
                    std::string_view trailers = {}) {
  std::string out(kChunkedHead);
  for (std::size_t left = n; left > 0;) {
    const std::size_t piece = std::min<std::size_t>(left, 100);
    out += hex(piece);
    out += extension;
    out += "\r\n" + body(piece) + "\r\n";
    left -= piece;
  }
  out += "0";
  out += extension;
  out += "\r\n";
  out += trailers;
  out += "\r\n";
  return out;
}

// A complete response whose status line is `line`, with an empty body.
then status_line(peer& p, std::string_view line) {
  p.send(std::string(line) + "\r\nContent-Length: 0\r\n\r\n");
  return then::next_request;
}

// `head`, then `unit` forever.
then endless(peer& p, std::string_view head, std::string_view unit) {
  if (p.send(head)) p.stream(unit);
  return then::close;
}

std::string repeat(std::string_view unit, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

struct script {
  std::string_view name;
  then (*run)(peer&, std::size_t n);
};

// clang-format off
constexpr std::array kScripts{
    // Well-formed answers, each told apart by its body length n.
    script{"ok", [](peer& p, std::size_t n) { p.send(ok(n)); return then::next_request; }},
    script{"no-length-close", [](peer& p, std::size_t n) {
      p.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body(n));
      return then::close; }},
    script{"http10", [](peer& p, std::size_t n) {
      p.send("HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n" + body(n));
      return then::close; }},
    script{"big-headers-ok", [](peer& p, std::size_t n) {
      // 40 KiB of fields: under every fetcher's limit.
      std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n";
      for (int i = 0; i < 40; ++i) head += "X-Pad-" + std::to_string(i) + ": " + body(998) + "\r\n";
      p.send(head + "\r\n" + body(n));
      return then::next_request; }},
    script{"chunk-ext-ok", [](peer& p, std::size_t n) {
      p.send(chunked(n, ";name=" + std::string(1000, 'e')));
      return then::next_request; }},
    script{"trailers-ok", [](peer& p, std::size_t n) {
      p.send(chunked(n, {}, repeat("X-Trailer: " + body(88) + "\r\n", 8 * 1024)));
      return then::next_request; }},

    script{"dribbled-chunks", [](peer& p, std::size_t n) {
      // The last chunk and the trailers a byte per write, so that they arrive a few bytes per
      // read: a parser must wait for more wherever they stop (Beast asserted on "0\r\n" and
      // one byte more; impls/src/beast_response.cpp).
      p.no_delay();
      const std::string all = chunked(n, {}, "T: x\r\n");
      const std::size_t last = all.rfind("0\r\nT:");
      if (!p.send(std::string_view(all).substr(0, last))) return then::close;
      for (const char c : std::string_view(all).substr(last)) {
        std::this_thread::sleep_for(2ms);
        if (!p.send(std::string_view(&c, 1))) return then::close;
      }
      return then::next_request; }},

    // Interim responses: skipped, the final answer belongs to the same request.
    script{"100-continue", [](peer& p, std::size_t n) {
      p.send("HTTP/1.1 100 Continue\r\n\r\n" + ok(n));
      return then::next_request; }},
    script{"1xx-split", [](peer& p, std::size_t n) {
      // Several interim responses, each in its own write, so they arrive in separate reads.
      for (std::string_view interim :
           {"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 102 Processing\r\n\r\n",
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"}) {
        if (!p.send(interim)) return then::close;
        std::this_thread::sleep_for(20ms);
      }
      p.send(ok(n));
      return then::next_request; }},
    script{"101-unasked", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\n\r\n");
      return then::close; }},

    // Bytes past the end of a complete response, in the same write.
    script{"extra-bytes", [](peer& p, std::size_t n) {
      p.send(ok(n) + "JUNK AFTER THE BODY\r\n");
      return then::next_request; }},
    script{"extra-bytes-chunked", [](peer& p, std::size_t n) {
      p.send(chunked(n) + "JUNK AFTER THE BODY\r\n");
      return then::next_request; }},
    script{"extra-response", [](peer& p, std::size_t n) {
      // A second, unasked-for response: taken as the next request's, it would shift every answer.
      p.send(ok(n) + "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nshifted");
      return then::next_request; }},

    // Malformed status lines.
    script{"status-000",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.1 000 Zero"); }},
    script{"status-2-digits",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.1 20 OK"); }},
    script{"status-4-digits",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.1 2000 OK"); }},
    script{"status-letters",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.1 2x0 OK"); }},
    script{"status-no-space",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.1 200"); }},
    script{"status-lowercase",
           [](peer& p, std::size_t) { return status_line(p, "http/1.1 200 OK"); }},
    script{"status-version-2",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/2.0 200 OK"); }},
    script{"status-version-1.2",
           [](peer& p, std::size_t) { return status_line(p, "HTTP/1.2 200 OK"); }},
    script{"not-http", [](peer& p, std::size_t) {
      p.send("SSH-2.0-OpenSSH_9.2p1\r\n");
      return then::hold; }},
    script{"garbage-no-newline", [](peer& p, std::size_t) {
      p.send("<html><body>");
      return then::hold; }},
    script{"two-content-lengths", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello12");
      return then::next_request; }},
    script{"cl-and-chunked", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n0\r\n\r\n");
      return then::next_request; }},
    script{"bare-lf", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\nContent-Length: 5\n\nhello");
      return then::next_request; }},
    script{"header-no-colon", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nNoColonHere\r\n\r\n");
      return then::next_request; }},
    // A continuation line with nothing to continue. Sent on a handle that has had a response
    // (the test's order), it made libcurl < 8.1.0 read freed memory (curl_easy.cpp).
    script{"folded-first-header", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\n Folded: x\r\nContent-Length: 0\r\n\r\n");
      return then::next_request; }},

    // Bad chunking: the server holds the connection, so the fetcher must see it by itself.
    script{"bad-chunk-size", [](peer& p, std::size_t) {
      p.send(std::string(kChunkedHead) + "zz\r\nhello\r\n0\r\n\r\n");
      return then::hold; }},
    script{"chunk-size-overflow", [](peer& p, std::size_t) {
      p.send(std::string(kChunkedHead) + "1ffffffffffffffff\r\nhello\r\n");
      return then::hold; }},
    script{"bad-chunk-end", [](peer& p, std::size_t) {
      p.send(std::string(kChunkedHead) + "5\r\nhelloXX0\r\n\r\n");
      return then::hold; }},

    // Cut short: a body that ends early, by FIN or by RST, after some of it arrived.
    script{"close-after-headers", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
      return then::close; }},
    script{"reset-after-headers", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
      std::this_thread::sleep_for(50ms);  // let the client read them before the reset
      return then::reset; }},
    script{"close-after-10-body-bytes", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body(10));
      return then::close; }},
    script{"reset-after-10-body-bytes", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body(10));
      std::this_thread::sleep_for(50ms);
      return then::reset; }},
    script{"close-in-chunked-body", [](peer& p, std::size_t) {
      p.send(std::string(kChunkedHead) + "64\r\n" + body(10));
      return then::close; }},
    script{"reset-in-chunked-body", [](peer& p, std::size_t) {
      p.send(std::string(kChunkedHead) + "64\r\n" + body(10));
      std::this_thread::sleep_for(50ms);
      return then::reset; }},

    // Nothing of a response: a reset, whatever preceded it.
    script{"close-before-response", [](peer&, std::size_t) { return then::close; }},
    script{"reset-before-response", [](peer&, std::size_t) { return then::reset; }},
    script{"close-mid-status-line", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 20");
      return then::close; }},
    script{"reset-mid-status-line", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 20");
      std::this_thread::sleep_for(50ms);
      return then::reset; }},
    script{"close-after-100-continue", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 100 Continue\r\n\r\n");
      return then::close; }},
    script{"reset-after-100-continue", [](peer& p, std::size_t) {
      p.send("HTTP/1.1 100 Continue\r\n\r\n");
      std::this_thread::sleep_for(50ms);
      return then::reset; }},

    // Endless input that a limit must stop: each ends as bad_response, in bounded memory.
    script{"endless-headers", [](peer& p, std::size_t) {
      return endless(p, "HTTP/1.1 200 OK\r\n",
                     repeat("X-Pad: " + body(91) + "\r\n", kStreamUnit)); }},
    script{"endless-header-line", [](peer& p, std::size_t) {
      return endless(p, "HTTP/1.1 200 OK\r\nX-Long: ", body(kStreamUnit)); }},
    script{"endless-status-line", [](peer& p, std::size_t) {
      return endless(p, "HTTP/1.1 200 ", body(kStreamUnit)); }},
    script{"endless-1xx", [](peer& p, std::size_t) {
      return endless(p, "", repeat("HTTP/1.1 100 Continue\r\n\r\n", kStreamUnit)); }},
    script{"endless-chunk-ext", [](peer& p, std::size_t) {
      return endless(p, std::string(kChunkedHead) + "1;", body(kStreamUnit)); }},
    script{"endless-trailers", [](peer& p, std::size_t) {
      return endless(p, std::string(kChunkedHead) + "5\r\nhello\r\n0\r\n",
                     repeat("X-Trailer: " + body(87) + "\r\n", kStreamUnit)); }},
    script{"endless-trailer-line", [](peer& p, std::size_t) {
      return endless(p, std::string(kChunkedHead) + "5\r\nhello\r\n0\r\nX-Long: ",
                     body(kStreamUnit)); }},

    // A generated case (hostile_sets.hpp): its bytes, then a close or a reset. Nothing waits
    // between the two: the client's kernel hands over what arrived before it reports the reset.
    script{"case", [](peer& p, std::size_t n) {
      const auto& cases = hostile_cases();
      if (n >= cases.size()) {
        p.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        return then::next_request;
      }
      p.send(cases[n].bytes);
      return cases[n].end == case_end::fin ? then::close : then::reset; }},

    // Endless input no limit stops: only the total timeout ends it.
    script{"huge-body-fast", [](peer& p, std::size_t) {
      return endless(p, "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n",
                     body(kStreamUnit)); }},
    script{"endless-chunks", [](peer& p, std::size_t) {
      return endless(p, kChunkedHead, hex(kStreamUnit) + "\r\n" + body(kStreamUnit) + "\r\n"); }},
    script{"endless-close-delimited", [](peer& p, std::size_t) {
      return endless(p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", body(kStreamUnit)); }},
    script{"trickle-headers", [](peer& p, std::size_t) {
      // One header byte every 50 ms: never over a size limit, never complete.
      if (!p.send("HTTP/1.1 200 OK\r\nX-Slow: ")) return then::close;
      while (p.send("a")) std::this_thread::sleep_for(50ms);
      return then::close; }},
};
// clang-format on

// "/name?n=5&x=y" -> {"name", 5}
std::pair<std::string_view, std::size_t> parse_target(std::string_view target) {
  if (target.starts_with('/')) target.remove_prefix(1);
  const auto q = target.find('?');
  const std::string_view name = target.substr(0, q);
  std::size_t n = 0;
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view param = query.substr(0, amp);
      if (param.starts_with("n="))
        std::from_chars(param.data() + 2, param.data() + param.size(), n);
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  return {name, n};
}

}  // namespace

struct hostile_server::tls_state {
  std::unique_ptr<boost::asio::ssl::context> context;
};

hostile_server::hostile_server(bool tls) {
  if (tls) {
    static std::atomic<int> next{0};
    ca_ = std::filesystem::temp_directory_path() /
          ("iobench-hostile-ca-" + std::to_string(::getpid()) + "-" + std::to_string(next++) +
           ".pem");
    mock::tls_config cfg;
    cfg.enabled = true;
    cfg.cert_out = ca_.string();
    tls_ = std::make_shared<tls_state>();
    tls_->context = mock::detail::make_tls_context(cfg, "127.0.0.1");
  }
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) fail("socket");
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, SOMAXCONN) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(listener_);
    errno = err;
    fail("hostile_server: bind/listen");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

hostile_server::~hostile_server() {
  stopping_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  {
    // Wake every script blocked on its connection; each closes its own descriptor.
    std::lock_guard lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();  // the acceptor is gone: nothing adds to workers_ now
  ::close(listener_);
  if (!ca_.empty()) std::filesystem::remove(ca_);
}

std::string hostile_server::url() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::vector<std::string_view> hostile_server::scripts() {
  std::vector<std::string_view> names;
  for (const auto& s : kScripts) names.push_back(s.name);
  return names;
}

void hostile_server::accept_loop() {
  while (!stopping_.load()) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, kPollMs) <= 0) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(mutex_);
    open_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void hostile_server::serve(int fd) {
  // OpenSSL writes with write(2): a client that has gone would raise SIGPIPE, which ends the test
  // binary. Blocked on this thread alone, the signal stays pending here and the write fails.
  sigset_t pipe;
  ::sigemptyset(&pipe);
  ::sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  peer p(fd, stopping_);
  const bool ready = !tls_ || p.accept_tls(tls_->context->native_handle());
  while (ready) {
    const std::string target = p.read_request();
    if (target.empty()) break;
    ++requests_;
    const auto [name, n] = parse_target(target);
    const auto it = std::find_if(kScripts.begin(), kScripts.end(),
                                 [&](const script& s) { return s.name == name; });
    const then next =
        it == kScripts.end()
            ? (p.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), then::next_request)
            : it->run(p, n);
    if (next == then::next_request) continue;
    if (next == then::hold) p.hold();
    if (next == then::close) p.close();
    if (next == then::reset) p.reset();
    break;
  }
  std::lock_guard lock(mutex_);
  open_.erase(std::find(open_.begin(), open_.end(), fd));
  ::close(fd);
}

}  // namespace iobench::test
