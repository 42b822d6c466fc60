#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "impls/fetcher.hpp"

namespace iobench::test {
namespace {

namespace http = boost::beast::http;
using clock = std::chrono::steady_clock;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

running_server::running_server(mock::server_config cfg) : server_(std::move(cfg)) {
  server_.start();
}

running_server::~running_server() { server_.stop(std::chrono::nanoseconds{0}); }

std::string http_response::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

std::optional<double> http_response::timing_ms(std::string_view metric) const {
  // "delay;dur=12.345, late;dur=0.021"
  const std::string value = header("server-timing");
  const std::string key = std::string(metric) + ";dur=";
  const auto at = value.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(value.substr(at + key.size()));
}

client_socket::client_socket(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    errno = err;
    fail("connect");
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

client_socket::client_socket(client_socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), pending_(std::move(other.pending_)) {}

client_socket::~client_socket() { close(); }

void client_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void client_socket::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t client_socket::send_until_answered(std::string_view chunk, std::size_t limit) {
  std::size_t sent = 0;
  while (sent < limit) {
    pollfd p{fd_, POLLIN | POLLOUT, 0};
    const int r = ::poll(&p, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) break;
    const ssize_t n = ::send(fd_, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

void client_socket::send_get(std::string_view target, std::string_view extra) {
  std::string req = "GET ";
  req += target;
  req += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  req += extra;
  req += "\r\n";
  send(req);
}

long client_socket::recv_some(std::string& out, clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return -2;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -2;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;  // ECONNRESET and friends
    }
    out.append(buf, static_cast<std::size_t>(n));
    return n;
  }
}

read_result client_socket::read_response(std::chrono::milliseconds timeout, bool head_request) {
  read_result result;
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.skip(head_request);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(1 << 20);
  const auto deadline = clock::now() + timeout;
  for (;;) {
    boost::system::error_code ec;
    if (!pending_.empty()) {
      const std::size_t used = parser.put(boost::asio::buffer(pending_), ec);
      result.raw.append(pending_, 0, used);
      pending_.erase(0, used);
      if (ec && ec != http::error::need_more) {
        result.raw += pending_;
        pending_.clear();
        result.end = read_end::bad;
        return result;
      }
    }
    if (parser.is_done()) break;
    const long n = recv_some(pending_, deadline);
    if (n > 0) {
      ++result.reads;
      continue;
    }
    if (n == 0) {
      // EOF: a complete close-delimited body is fine; anything else ended early.
      parser.put_eof(ec);
      if (!ec && parser.is_done()) break;
      result.end = result.raw.empty() ? read_end::eof : read_end::bad;
      return result;
    }
    result.end = n == -1 ? read_end::reset : read_end::timeout;
    return result;
  }
  auto msg = parser.release();
  http_response r;
  r.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers[name] = std::string(f.value());
  }
  r.body = std::move(msg.body());
  result.response = std::move(r);
  result.end = read_end::response;
  return result;
}

read_result client_socket::read_until_close(std::chrono::milliseconds timeout) {
  read_result result;
  result.raw = std::move(pending_);
  pending_.clear();
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const long n = recv_some(result.raw, deadline);
    if (n > 0) {
      ++result.reads;
      continue;
    }
    result.end = n == 0 ? read_end::eof : n == -1 ? read_end::reset : read_end::timeout;
    return result;
  }
}

read_result client_socket::get(std::string_view target, std::chrono::milliseconds timeout) {
  send_get(target);
  return read_response(timeout);
}

std::vector<read_result> fetch_batch(std::uint16_t port, const std::vector<std::string>& targets,
                                     std::size_t connections) {
  std::vector<client_socket> sockets;
  connections = std::max<std::size_t>(1, std::min(connections, targets.size()));
  for (std::size_t i = 0; i < connections; ++i) sockets.emplace_back(port);
  std::vector<read_result> results(targets.size());
  for (std::size_t first = 0; first < targets.size(); first += connections) {
    const std::size_t last = std::min(targets.size(), first + connections);
    for (std::size_t i = first; i < last; ++i) sockets[i - first].send_get(targets[i]);
    for (std::size_t i = first; i < last; ++i) results[i] = sockets[i - first].read_response();
  }
  return results;
}

void model_test::SetUp() {
  if (const std::string why = model_unavailable(GetParam()); !why.empty()) {
    GTEST_SKIP() << GetParam() << " skipped: " << why;
  }
}

std::string model_test_name(const ::testing::TestParamInfo<std::string_view>& info) {
  std::string name(info.param);
  for (char& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_';
  return name;
}

void scheme_test::SetUp() {
  if (const std::string why = model_unavailable(model()); !why.empty()) {
    GTEST_SKIP() << model() << " skipped: " << why;
  }
  if (https() && !find_model(model())->https) {
    GTEST_SKIP() << model() << " does not speak https (tls_test.cpp holds it to its refusal)";
  }
}

void scheme_test::TearDown() {
  for (const auto& f : files_) std::filesystem::remove(f);
}

mock::server_config scheme_test::config(mock::server_config c) {
  if (!https()) return c;
  static int next = 0;
  files_.push_back(
      std::filesystem::temp_directory_path() /
      ("iobench-ca-" + std::to_string(::getpid()) + "-" + std::to_string(next++) + ".pem"));
  c.tls.enabled = true;
  c.tls.cert_out = files_.back().string();
  return c;
}

Options scheme_test::trusting(Options o) {
  if (!https()) return o;
  // One file of every authority made so far: a test may run several servers.
  std::string bundle;
  std::vector<std::filesystem::path> cas = others_;
  std::copy_if(files_.begin(), files_.end(), std::back_inserter(cas),
               [](const std::filesystem::path& f) { return f.extension() == ".pem"; });
  for (const auto& f : cas) {
    std::ifstream in(f);
    bundle.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto path =
      std::filesystem::temp_directory_path() / ("iobench-bundle-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(files_.size()) + ".crt");
  std::ofstream(path) << bundle;
  files_.push_back(path);
  o.cacert = path.string();
  return o;
}

::testing::internal::ParamGenerator<std::tuple<std::string_view, bool>> schemes() {
  return ::testing::Combine(::testing::ValuesIn(fetcher_names()), ::testing::Bool());
}

std::string scheme_test_name(
    const ::testing::TestParamInfo<std::tuple<std::string_view, bool>>& info) {
  std::string name(std::get<0>(info.param));
  for (char& ch : name) ch = std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_';
  return std::get<1>(info.param) ? name + "_https" : name;
}

std::string get_request(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

std::string expected_body(std::size_t bytes) {
  constexpr std::string_view kPattern =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-\n";
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) out[i] = kPattern[i % kPattern.size()];
  return out;
}

}  // namespace iobench::test
