// mock_server_wave: the load for the server's timer-accuracy benchmark. It opens N connections
// first, then sends one request on each (as fast as it can, or evenly over --spread), then reads
// every response. Separating the phases puts N requests in flight at once, which a fetcher that
// connects and sends in one go cannot do at N = 10,000: its connection ramp outlasts the delay.
// It stays cheap on purpose (one thread, no parsing beyond framing) so that the server, not the
// load, gets the machine's cores.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>
#include <iostream>
#include <map>
#include <thread>

#include "common/cli.hpp"
#include "common/open_files.hpp"
#include "common/units.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using boost::system::error_code;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kConnectBatch = 1000;  // parallel connects; stays under the accept backlog

constexpr std::string_view kHelp = R"(usage: mock_server_wave [options] URL

Opens N connections to URL, then sends one GET on each, then reads every response; prints one
JSON object. The load of scripts/server_bench.sh's timer-accuracy figure.

options:
  -n N          connections, one request each (default 10000)
  --spread D    send the requests evenly over D instead of as fast as possible (default 0)
  --timeout D   give up on responses after D (default 60s)
  -h, --help    this text
)";

struct options {
  std::size_t n = 10000;
  std::chrono::nanoseconds spread{0};
  std::chrono::nanoseconds timeout = 60s;
  std::string host;
  std::uint16_t port = 0;
  std::string target;
};

options parse_args(int argc, char** argv) {
  options o;
  std::string url;
  iobench::cli::arg_reader args(argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      std::cout << kHelp;
      std::exit(0);
    } else if (args.is("-n")) {
      o.n = args.u64(1, 60000);
    } else if (args.is("--spread")) {
      o.spread = args.duration();
    } else if (args.is("--timeout")) {
      o.timeout = args.duration();
    } else if (args.positional() && url.empty()) {
      url = std::string(args.current());
    } else {
      args.unknown();
    }
  }
  const auto u = boost::urls::parse_uri(url);
  if (url.empty() || !u || u->scheme_id() != boost::urls::scheme::http || !u->has_port()) {
    throw iobench::cli::usage_error("expected a URL like http://127.0.0.1:PORT/path (got '" + url +
                                    "')");
  }
  o.host = u->host();
  o.port = static_cast<std::uint16_t>(u->port_number());
  o.target = u->encoded_target().empty() ? "/" : std::string(u->encoded_target());
  return o;
}

struct results {
  std::size_t connected = 0;
  std::size_t ok = 0;
  std::map<std::string, std::size_t> failures;
};

asio::awaitable<void> connect_one(tcp::socket& s, tcp::endpoint ep, results& r) {
  auto [ec] = co_await s.async_connect(ep, kAwait);
  if (ec) {
    ++r.failures["connect: " + ec.message()];
    co_return;
  }
  s.set_option(tcp::no_delay(true), ec);
  ++r.connected;
}

asio::awaitable<void> read_one(tcp::socket& s, results& r) {
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  auto [ec, n] = co_await http::async_read(s, buf, parser, kAwait);
  if (ec) {
    ++r.failures["read: " + ec.message()];
  } else if (parser.get().result_int() != 200) {
    ++r.failures["status " + std::to_string(parser.get().result_int())];
  } else {
    ++r.ok;
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_args(argc, argv);
  } catch (const iobench::cli::usage_error& e) {
    std::cerr << "mock_server_wave: " << e.what() << " (see --help)\n";
    return iobench::cli::kUsageExit;
  }
  if (iobench::raise_open_file_limit() < o.n + 64) {
    std::cerr << "mock_server_wave: -n " << o.n << " needs more open files; raise `ulimit -n`\n";
    return iobench::cli::kUsageExit;
  }
  try {
    asio::io_context ctx{1};
    const tcp::endpoint ep(asio::ip::make_address(o.host), o.port);
    std::vector<tcp::socket> sockets;
    sockets.reserve(o.n);
    results r;

    const auto t0 = clock_type::now();
    for (std::size_t first = 0; first < o.n; first += kConnectBatch) {
      for (std::size_t i = first; i < std::min(o.n, first + kConnectBatch); ++i) {
        sockets.emplace_back(ctx);
        asio::co_spawn(ctx, connect_one(sockets.back(), ep, r), asio::detached);
      }
      ctx.run();
      ctx.restart();
    }
    const auto t1 = clock_type::now();

    const std::string request = "GET " + o.target + " HTTP/1.1\r\nHost: " + o.host + ":" +
                                std::to_string(o.port) + "\r\nUser-Agent: iobench-wave\r\n\r\n";
    std::size_t sent = 0;
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      if (o.spread.count() > 0) {
        const auto due = t1 + o.spread * static_cast<std::int64_t>(i) /
                                  static_cast<std::int64_t>(sockets.size());
        while (clock_type::now() < due) std::this_thread::sleep_for(20us);
      }
      if (!sockets[i].is_open()) continue;
      error_code ec;
      asio::write(sockets[i], asio::buffer(request), ec);  // small: fits the socket buffer
      if (ec) {
        ++r.failures["send: " + ec.message()];
        continue;
      }
      ++sent;
      asio::co_spawn(ctx, read_one(sockets[i], r), asio::detached);
    }
    const auto t2 = clock_type::now();
    ctx.run_for(o.timeout);
    const auto t3 = clock_type::now();

    const auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
    std::cout << "{\"connections\":" << o.n << ",\"connected\":" << r.connected
              << ",\"sent\":" << sent << ",\"ok\":" << r.ok << ",\"connect_s\":" << secs(t1 - t0)
              << ",\"send_s\":" << secs(t2 - t1) << ",\"responses_s\":" << secs(t3 - t1)
              << ",\"failures\":{";
    bool first = true;
    for (const auto& [what, count] : r.failures) {
      std::cout << (first ? "" : ",") << "\"" << what << "\":" << count;
      first = false;
    }
    std::cout << "}}\n";
    return r.ok == o.n ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "mock_server_wave: " << e.what() << "\n";
    return 1;
  }
}
