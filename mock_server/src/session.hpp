// Internal: what a connection's coroutine (session.cpp) shares with the server's lifecycle
// (server.cpp). The lifecycle owns the loops and the connection lists; a session registers its
// connection there so that stop() and the idle sweeper can reach it, and reads the config, the
// counters and the stop flag.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "mock_server/server.hpp"

namespace iobench::mock::detail {

using tcp = boost::asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct loop;

/// One accepted connection; lives in its session's coroutine frame and is listed in its loop.
/// Touched only on its loop's thread.
struct connection {
  connection(tcp::socket s, loop& l) : socket(std::move(s)), home(l) {}
  tcp::socket socket;
  loop& home;
  bool idle = true;          ///< waiting for a request: may be closed at shutdown
  steady::time_point since;  ///< when the current wait for a request began
  std::list<connection*>::iterator self;
  std::string head;                            ///< reused response head
  std::vector<boost::asio::const_buffer> out;  ///< reused gather list
};

/// One event loop and its thread's state. NOTE: member order matters: the io_context is
/// destroyed first, destroying suspended coroutine frames while the list they unlink from exists.
struct loop {
  explicit loop(std::uint64_t seed) : rng(seed) {}
  std::list<connection*> connections;
  std::mt19937_64 rng;  ///< samples delays of requests that carry no seed
  boost::asio::io_context ctx{1};
  boost::asio::steady_timer sweeper{ctx};
  std::list<connection*>::iterator sweep_cursor = connections.end();
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard{
      ctx.get_executor()};
};

/// What every session reads or updates: the config, the counters, the stop flag.
struct shared_state {
  explicit shared_state(server_config c) : cfg(std::move(c)) {}
  server_config cfg;
  server_stats stats;
  std::atomic<bool> stopping{false};
  /// Steady-clock nanoseconds until which behaviour answers are held (POST /stall): a server that
  /// stops answering for a while, as a GC pause or a failover does.
  std::atomic<std::int64_t> stalled_until{0};
  /// With --tls: every connection's TLS context; null for plain HTTP.
  std::unique_ptr<boost::asio::ssl::context> tls;
};

/// Serves one connection on `home`'s thread until the client leaves, a response closes it, or the
/// server stops. REQUIRES: `shared` and `home` outlive the coroutine.
boost::asio::awaitable<void> run_session(tcp::socket socket, loop& home, shared_state& shared);

}  // namespace iobench::mock::detail
