// Fuzz target: the mock server's request path, driven through its public API only.
//
// One in-process iobench::mock::server (port 0, one event loop) lives for the whole run. Each
// input is one connection's worth of client bytes: a request, many pipelined requests, or
// garbage, sent over a real loopback socket, exactly as a client would. With the markers of
// fuzz_support.hpp a short input stands for megabytes (<<FLOOD>>: endless headers, chunk
// extensions or trailers) or for several connections one after another (<<NEXT>>). The client
// writes while it reads (so a server answering pipelined requests never blocks on it), stops
// writing once an answer arrives, half-closes, and reads until the server closes.
//
// Invariants, beyond ASan/UBSan/LSan and libFuzzer's malloc limit (which catches a request the
// server buffers without bound):
// - after the client half-closed, the server answers or closes: never silence for kQuiet;
// - the server still answers GET /healthz on a fresh connection (it keeps serving others);
// - the connection is gone from the server's books (connections_open back to 0) shortly after
//   the client closed: no session is left stuck.
// The server's limits are lowered (delay 20 ms, bytes 64 KiB) so that an input asking for a long
// delay or a large body costs milliseconds; values over them exercise the 400 path instead.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "fuzz_support.hpp"
#include "mock_server/server.hpp"

namespace {

using namespace iobench::fuzz;
using namespace std::chrono_literals;

// A flood is twice libFuzzer's -malloc_limit_mb (scripts/fuzz.sh): a parser that buffers it all
// trips the limit.
constexpr std::size_t kFloodCap = 8u << 20;
constexpr auto kQuiet = 3000ms;  // silence after the half-close that is a hang
// One connection's exchange, whatever it asks for. Pipelined requests are answered in order, each
// after its delay, so megabytes of them (which the kernel takes before the first answer stops
// the flood) would keep the server busy for minutes: cut off, without a finding.
constexpr auto kTotal = 5000ms;
constexpr auto kDrained = 5s;  // for the server to drop a closed connection

iobench::mock::server& the_server() {
  static const std::unique_ptr<iobench::mock::server> s = [] {
    iobench::mock::server_config cfg;
    cfg.port = 0;
    cfg.threads = 1;
    cfg.lim.max_delay = 20ms;
    cfg.lim.max_bytes = 64 * 1024;
    cfg.idle_timeout = 2s;
    auto srv = std::make_unique<iobench::mock::server>(cfg);
    srv->start();
    return srv;
  }();
  return *s;
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 120)) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  return out;
}

void check_healthz(std::uint16_t port) {
  int fd = connect_loopback(port);
  byte_stream req("GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n", 0);
  const auto r = exchange(fd, req, {.quiet = kQuiet, .total = kQuiet});
  close_fd(fd);
  if (!r.head.starts_with("HTTP/1.1 200 ") || !r.head.ends_with("\r\n\r\nok")) {
    finding("GET /healthz after this input did not get 200 ok (got " + std::to_string(r.received) +
            " bytes: '" + printable(r.head) + "')");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& server = the_server();
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  for (const auto part : split_parts(input)) {
    int fd = connect_loopback(server.port());
    byte_stream stream(part, kFloodCap);
    const auto r =
        exchange(fd, stream, {.quiet = kQuiet, .total = kTotal, .stop_writing_on_answer = true});
    close_fd(fd);
    if (r.quiet_too_long) {
      finding("the server neither answered nor closed within " + std::to_string(kQuiet.count()) +
              " ms of the client's half-close (sent " + std::to_string(r.sent) + " of " +
              std::to_string(stream.total()) + " bytes, received " + std::to_string(r.received) +
              ")");
    }
  }

  check_healthz(server.port());

  const auto until = Clock::now() + kDrained;
  while (server.stats().connections_open != 0) {
    if (Clock::now() > until) {
      finding("a connection is still open on the server " + std::to_string(kDrained.count()) +
              " s after its client closed (connections_open = " +
              std::to_string(server.stats().connections_open) + ")");
    }
    std::this_thread::sleep_for(100us);
  }
  return 0;
}
