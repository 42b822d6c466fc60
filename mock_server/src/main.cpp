// mock_server: the command-line front of iobench::mock::server. Parses flags, serves until
// SIGINT/SIGTERM, drains in-flight requests, prints the final /stats and exits 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/cli.hpp"
#include "common/units.hpp"
#include "mock_server/server.hpp"

namespace {

using namespace iobench;
using namespace iobench::mock;

constexpr std::string_view kHelp = R"(usage: mock_server [options]

A mock HTTP/1.1 server with configurable latency, for benchmarking HTTP clients.

options:
  --bind ADDR            address to listen on (default 127.0.0.1; IPv6 works: ::1)
  --port N               port, 0 for an ephemeral one (default 0)
  --port-file FILE       write the bound URL (http://HOST:PORT) to FILE once accepting
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
  -h, --help             this text

durations: 250us, 100ms, 1.5s, 2m; a bare number is milliseconds.
sizes: 512, 4k, 1m (KiB/MiB).

endpoints:
  GET  /stats            counters as JSON     POST /stats/reset   zero the counters
  GET  /healthz          "ok"
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

options parse_args(int argc, char** argv) {
  options o;
  auto& c = o.config;
  cli::arg_reader args(argc, argv);
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
      c.defaults.delay = args.duration();
    } else if (args.is("--jitter")) {
      c.defaults.jitter = args.duration();
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
      c.extra_delay = args.duration();
    } else if (args.is("--seed")) {
      c.seed = args.u64();
    } else if (args.is("--max-delay")) {
      c.lim.max_delay = args.duration();
    } else if (args.is("--max-bytes")) {
      c.lim.max_bytes = args.size();
    } else if (args.is("--max-connections")) {
      c.max_connections = args.u64(1);
    } else if (args.is("--idle-timeout")) {
      c.idle_timeout = args.duration();
      if (c.idle_timeout < std::chrono::milliseconds{1}) {
        throw cli::usage_error("--idle-timeout: must be at least 1ms");
      }
    } else if (args.is("--grace")) {
      o.grace = args.duration();
    } else {
      args.unknown();
    }
  }
  if (auto err = validate(c.defaults, c.lim)) {
    // The same rule a query would break, reported as the flag the user typed.
    throw cli::usage_error("--" + *err);
  }
  return o;
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
  try {
    opts = parse_args(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "mock_server: " << e.what() << " (see --help)\n";
    return cli::kUsageExit;
  }
  try {
    server srv(opts.config);
    srv.start();
    std::cout << "listening on " << srv.url() << std::endl;
    std::cerr << "mock_server: " << srv.threads() << " event-loop thread(s), each with its own "
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
