#include "http_target.hpp"

#include <boost/url/parse.hpp>
#include <string_view>

namespace iobench::detail {

target parse_target(const std::string& url) {
  target t;
  const auto u = boost::urls::parse_uri(url);
  if (!u) {
    t.error = "invalid URL '" + url + "': " + u.error().message();
    return t;
  }
  if (u->scheme_id() != boost::urls::scheme::http) {
    t.error = "unsupported scheme in '" + url + "' (only http)";
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
  t.port_number = u->has_port() ? u->port_number() : 80;
  t.port = std::to_string(t.port_number);
  std::string_view written = u->port();
  while (written.size() > 1 && written.front() == '0') written.remove_prefix(1);
  if (t.port_number == 0 || (u->has_port() && written != t.port)) {
    t.error = "invalid port in '" + url + "'";
    return t;
  }
  t.authority = u->encoded_host_and_port();
  t.path = u->encoded_target();
  if (t.path.empty()) t.path = "/";
  return t;
}

}  // namespace iobench::detail
