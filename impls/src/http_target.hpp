// Internal: an http:// URL as a coroutine worker needs it (where to connect, what to send), or
// why it cannot be fetched.
#pragma once

#include <cstdint>
#include <string>

namespace iobench::detail {

/// What a worker needs to know about one URL.
struct target {
  std::string host;  // for connecting: no brackets around IPv6
  std::string port;
  std::uint16_t port_number = 80;
  std::string authority;  // for the Host header
  std::string path;       // path and query, as sent
  std::string error;      // set when the URL cannot be fetched
};

/// Parses `url`; a URL the model cannot fetch comes back with `error` set (never throws).
target parse_target(const std::string& url);

}  // namespace iobench::detail
