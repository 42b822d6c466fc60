// mock_server: the command-line front of iobench::mock::server. Parses flags, serves until
// SIGINT/SIGTERM, drains in-flight requests, prints the final /stats and exits 0.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include "common/cli.hpp"
#include "common/units.hpp"
#include "mock_server/server.hpp"

namespace {

using namespace iobench;
using namespace iobench::mock;

constexpr std::string_view kHelp = R"(usage: mock_server [options]

A mock HTTP/1.1 server with configurable latency, for benchmarking HTTP clients.

options:
  --bind ADDR            address or host name to listen on (default 127.0.0.1; IPv6 works:
                         ::1; a name is resolved and its addresses tried in order)
  --port N               port, 0 for an ephemeral one (default 0)
  --port-file FILE       write the bound URL (http://HOST:PORT, https:// with --tls) to FILE
                         once accepting
  --threads N|auto       event-loop threads, each with its own listening socket on the port
                         (default auto: one per CPU this process may run on)
  --delay D              default delay before each response (default 0ms)
  --jitter D             default jitter, used by --dist (default 0ms)
  --dist NAME            default delay distribution: fixed uniform normal exp lognormal
                         (default fixed)
  --bytes SIZE           default response body length (default 0)
  --seed N               seed for requests that carry no seed of their own (default 1); each
                         event loop draws its own stream, so with several threads use the
                         query's seed= for samples that repeat exactly
  --extra-delay D        added to every request's delay: a uniformly slower network (default 0)
  --max-delay D          largest delay, jitter or drip a request may ask for (default 60s)
  --max-bytes SIZE       largest body a request may ask for (default 64MiB)
  --max-connections N    open connections beyond this get 503 and are closed (default 100000)
  --idle-timeout D       close connections idle this long between requests (default 120s)
  --grace D              how long in-flight requests may finish at shutdown (default 5s)
  --tls                  serve HTTPS (TLS 1.2 and 1.3) instead of HTTP; the URL is https://
  --cert FILE            the server's PEM certificate chain (with --key); without both, a
                         certificate authority and a certificate it signed (localhost,
                         127.0.0.1, ::1, the bound address) are made at start-up
  --key FILE             the private key of --cert (PEM)
  --cert-out FILE        write that authority's certificate (PEM) to FILE, for clients to trust
                         (curl --cacert FILE)
  --tls-tickets on|off   session resumption by tickets and session ids (default on)
  -h, --help             this text

durations: 250us, 100ms, 1.5s, 2m; a bare number is milliseconds; at most 86400s (a day).
sizes: 512, 4k, 1m (KiB/MiB).

endpoints:
  GET  /stats            counters as JSON     POST /stats/reset   zero the counters
  GET  /healthz          "ok"                 POST /stall?for=D   hold every answer for D
  GET|HEAD any other path: the behaviour endpoint; the query overrides the defaults:
    delay=D jitter=D dist=NAME bytes=SIZE status=200..599 chunked=0|1 drip=D
    fail=reset|close|hang|truncate|garbage seed=N
  e.g.  curl 'http://127.0.0.1:8080/x?delay=100ms&bytes=4k'

SIGINT/SIGTERM: stop accepting, let in-flight requests finish (up to --grace), print the final
stats, exit 0. A second signal stops at once.
)";

struct options {
  server_config config;
  std::string port_file;
  std::chrono::nanoseconds grace = kDefaultGrace;
};

// Every duration flag is bounded by kMaxDuration, so that no deadline built from them can
// overflow. One message covers a value that does not parse and one out of range.
std::chrono::nanoseconds duration_flag(cli::arg_reader& args, std::string_view flag,
                                       std::chrono::nanoseconds min = {}) {
  const std::string text = args.value();
  const auto d = parse_duration(text);
  if (!d || *d < min || *d > kMaxDuration) {
    throw cli::usage_error(std::string(flag) + ": expected a duration from " +
                           format_duration(min) + " to " + format_duration(kMaxDuration) +
                           " (a day), like 250us, 100ms, 1.5s (got '" + text + "')");
  }
  return *d;
}

// The server binds an address: a host name (--bind localhost) is resolved here. A name that does
// not resolve is a usage error; each address it resolves to is tried in turn by listen().
std::vector<std::string> bind_addresses(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) return {host};
  boost::asio::io_context ctx;
  boost::asio::ip::tcp::resolver resolver(ctx);
  const auto results = resolver.resolve(host, "", boost::asio::ip::resolver_base::flags(), ec);
  if (ec || results.empty()) {
    throw cli::usage_error("--bind: '" + host +
                           "' is neither an IP address nor a host name that resolves" +
                           (ec ? " (" + ec.message() + ")" : std::string{}));
  }
  std::vector<std::string> out;
  for (const auto& r : results) {
    std::string a = r.endpoint().address().to_string();
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(std::move(a));
  }
  return out;
}

options parse_args(int argc, char** argv) {
  options o;
  auto& c = o.config;
  cli::arg_reader args(argc, argv);
  bool tls_flag_seen = false;  // --tls-tickets given, whatever its value
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      args.no_value();
      std::cout << kHelp;
      std::exit(0);
    } else if (args.is("--bind")) {
      c.bind = args.value();
    } else if (args.is("--port")) {
      c.port = static_cast<std::uint16_t>(args.u64(0, 65535));
    } else if (args.is("--port-file")) {
      o.port_file = args.value();
    } else if (args.is("--threads")) {
      // "auto" is 0 for server_config: one loop per CPU in the affinity mask.
      const std::string v = args.value();
      unsigned n = 0;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v != "auto" && (ec != std::errc{} || end != v.data() + v.size() || n < 1 || n > 1024)) {
        throw cli::usage_error("--threads: expected auto or an integer in 1..1024 (got '" + v +
                               "')");
      }
      c.threads = v == "auto" ? 0 : n;
    } else if (args.is("--delay")) {
      c.defaults.delay = duration_flag(args, "--delay");
    } else if (args.is("--jitter")) {
      c.defaults.jitter = duration_flag(args, "--jitter");
    } else if (args.is("--dist")) {
      const std::string v = args.value();
      const auto d = parse_distribution(v);
      if (!d) {
        throw cli::usage_error("--dist: expected fixed, uniform, normal, exp or lognormal (got '" +
                               v + "')");
      }
      c.defaults.dist = *d;
    } else if (args.is("--bytes")) {
      c.defaults.bytes = args.size();
    } else if (args.is("--extra-delay")) {
      c.extra_delay = duration_flag(args, "--extra-delay");
    } else if (args.is("--seed")) {
      c.seed = args.u64();
    } else if (args.is("--max-delay")) {
      c.lim.max_delay = duration_flag(args, "--max-delay");
    } else if (args.is("--max-bytes")) {
      c.lim.max_bytes = args.size();
    } else if (args.is("--max-connections")) {
      c.max_connections = args.u64(1);
    } else if (args.is("--idle-timeout")) {
      c.idle_timeout = duration_flag(args, "--idle-timeout", std::chrono::milliseconds{1});
    } else if (args.is("--grace")) {
      o.grace = duration_flag(args, "--grace");
    } else if (args.is("--tls")) {
      c.tls.enabled = true;
    } else if (args.is("--cert")) {
      c.tls.cert_file = args.value();
    } else if (args.is("--key")) {
      c.tls.key_file = args.value();
    } else if (args.is("--cert-out")) {
      c.tls.cert_out = args.value();
    } else if (args.is("--tls-tickets")) {
      const std::string v = args.value();
      if (v != "on" && v != "off") {
        throw cli::usage_error("--tls-tickets: expected on or off (got '" + v + "')");
      }
      c.tls.tickets = v == "on";
      tls_flag_seen = true;
    } else {
      args.unknown();
    }
  }
  const auto& t = c.tls;
  if (!t.enabled &&
      (tls_flag_seen || !t.cert_file.empty() || !t.key_file.empty() || !t.cert_out.empty())) {
    throw cli::usage_error("--cert, --key, --cert-out and --tls-tickets need --tls");
  }
  if (t.cert_file.empty() != t.key_file.empty()) {
    throw cli::usage_error("--cert and --key go together");
  }
  if (!t.cert_file.empty() && !t.cert_out.empty()) {
    throw cli::usage_error("--cert-out writes a made certificate; with --cert, trust that file");
  }
  if (auto err = validate(c.defaults, c.lim)) {
    // The same rule a query would break, reported as the flag the user typed.
    throw cli::usage_error("--" + *err);
  }
  return o;
}

std::string host_port(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Binds the first of `addresses` that can be bound; a failure on all of them is one line naming
// the first address and why (a runtime error, exit 1: the flags were fine).
std::unique_ptr<server> listen(server_config cfg, const std::vector<std::string>& addresses) {
  std::string first_error;
  for (const auto& a : addresses) {
    cfg.bind = a;
    try {
      return std::make_unique<server>(cfg);
    } catch (const boost::system::system_error& e) {
      if (first_error.empty()) {
        first_error = "cannot listen on " + host_port(a, cfg.port) + ": " + e.code().message();
      }
    }
  }
  throw std::runtime_error(first_error);
}

void write_port_file(const std::string& path, const std::string& url) {
  // Write then rename, so a reader polling for the file never sees it half-written.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << url << '\n';
    if (!out) throw std::runtime_error("cannot write --port-file " + path);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  std::vector<std::string> addresses;
  try {
    opts = parse_args(argc, argv);
    addresses = bind_addresses(opts.config.bind);
  } catch (const cli::usage_error& e) {
    std::cerr << "mock_server: " << e.what() << " (see --help)\n";
    return cli::kUsageExit;
  }
  try {
    const auto srv_ptr = listen(opts.config, addresses);
    server& srv = *srv_ptr;
    srv.start();
    std::cout << "listening on " << srv.url() << std::endl;
    std::cerr << "mock_server: " << srv.threads()
              << " event-loop thread(s), each with its own "
                 "listening socket\n";
    if (!opts.port_file.empty()) write_port_file(opts.port_file, srv.url());

    boost::asio::io_context signals_ctx;
    boost::asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      std::cerr << "mock_server: signal " << sig << ", draining (up to "
                << format_duration(opts.grace) << ")\n";
      // A second signal while draining means "now": restore the default action.
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
    });
    signals_ctx.run();
    signals.clear();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    srv.stop(opts.grace);
    std::cout << "final stats: " << srv.stats().to_json() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mock_server: " << e.what() << "\n";
    return 1;
  }
}
