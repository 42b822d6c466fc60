#include "http_target.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <boost/url/parse.hpp>
#include <cstring>
#include <string_view>

namespace iobench::detail {

target parse_target(const std::string& url, bool https) {
  target t;
  const auto u = boost::urls::parse_uri(url);
  if (!u) {
    t.error = "invalid URL '" + url + "': " + u.error().message();
    return t;
  }
  t.tls = u->scheme_id() == boost::urls::scheme::https;
  if (t.tls && !https) {
    t.error = "this model does not speak https ('" + url + "'); the libcurl and Beast models do";
    return t;
  }
  if (!t.tls && u->scheme_id() != boost::urls::scheme::http) {
    t.error = "unsupported scheme in '" + url + "' (only http" + (https ? " and https)" : ")");
    return t;
  }
  if (u->host_type() == boost::urls::host_type::ipv6) {
    t.host = u->host_ipv6_address().to_string();
  } else {
    t.host = u->host();
  }
  if (t.host.empty()) {
    t.error = "no host in '" + url + "'";
    return t;
  }
  // port_number() is 0 for an empty port, port 0 and most ports over 65535, but Boost.URL 1.81
  // wraps some (99999 reads as 34463): a number that does not spell the port as written is none.
  t.port_number = u->has_port() ? u->port_number() : (t.tls ? 443 : 80);
  t.port = std::to_string(t.port_number);
  std::string_view written = u->port();
  while (written.size() > 1 && written.front() == '0') written.remove_prefix(1);
  if (t.port_number == 0 || (u->has_port() && written != t.port)) {
    t.error = "invalid port in '" + url + "'";
    return t;
  }
  t.authority = u->encoded_host_and_port();
  t.path = u->encoded_target();
  if (t.path.empty()) t.path.push_back('/');  // (= "/" trips a GCC 12 -Wrestrict false alarm)
  return t;
}

std::string get_request(const target& t, bool keep_alive) {
  constexpr std::string_view kClose = "Connection: close\r\n";
  std::string request;
  request.reserve(64 + t.path.size() + t.authority.size());
  request.append("GET ").append(t.path).append(" HTTP/1.1\r\nHost: ").append(t.authority);
  request.append("\r\nUser-Agent: iobench\r\nAccept: */*\r\n");
  if (!keep_alive) request.append(kClose);
  request.append("\r\n");
  return request;
}

std::string resolve_target(const target& t, sockaddr_storage& address, socklen_t& size) {
  address = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, t.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(t.port_number);
    size = sizeof *v4;
    return {};
  }
  if (::inet_pton(AF_INET6, t.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(t.port_number);
    size = sizeof *v6;
    return {};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    if (found != nullptr) ::freeaddrinfo(found);
    std::string why = "resolve ";
    return why.append(t.host).append(": ").append(::gai_strerror(rc));
  }
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  size = found->ai_addrlen;
  ::freeaddrinfo(found);
  return {};
}

}  // namespace iobench::detail
