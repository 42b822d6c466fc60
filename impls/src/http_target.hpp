// Internal: an http:// (or https://) URL as a worker writing its own requests needs it (where to
// connect, what to send), or why it cannot be fetched.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace iobench::detail {

/// What a worker needs to know about one URL.
struct target {
  std::string host;  // for connecting: no brackets around IPv6
  std::string port;
  std::uint16_t port_number = 80;
  bool tls = false;       // https
  std::string authority;  // for the Host header
  std::string path;       // path and query, as sent
  std::string error;      // set when the URL cannot be fetched
};

/// Parses `url`; a URL the model cannot fetch comes back with `error` set (never throws): an
/// https one unless `https` (the model speaks it: tls_client.hpp).
target parse_target(const std::string& url, bool https = false);

/// The GET request for `t` that every model writing its own requests sends (libcurl's differ
/// only in header order); with "Connection: close" unless `keep_alive`.
std::string get_request(const target& t, bool keep_alive);

/// Where to connect for `t` (an address, or a name resolved with getaddrinfo, blocking): fills
/// `address` and `size`, and returns why it cannot, or empty.
std::string resolve_target(const target& t, sockaddr_storage& address, socklen_t& size);

}  // namespace iobench::detail
