// The server's lifecycle: loops, acceptor, idle sweeper, start and stop. What happens on a
// connection is session.cpp's; what the bytes look like is wire.cpp's.
//
// Why it looks like this:
// - One io_context per thread, each run by exactly one thread (concurrency hint 1: no locking in
//   the scheduler), by default one per CPU the process may run on. Each loop has its own
//   listening socket on the same port (SO_REUSEPORT): the kernel spreads new connections over the
//   loops' accept queues, so a burst of 10,000 connects is accepted by every thread at once instead
//   of queueing behind one acceptor, and a connection and all its timers stay on the thread that
//   accepted it for its whole life. Each queue is as deep as the kernel allows (somaxconn).
// - stop() closes what is idle, gives in-flight requests the grace, then closes the rest; each
//   step runs on the loop that owns the connections, so no connection is touched by two threads.
#include "mock_server/server.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "common/machine.hpp"
#include "common/open_files.hpp"
#include "session.hpp"
#include "tls.hpp"

namespace iobench::mock {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using detail::connection;
using detail::loop;
using detail::steady;
using detail::tcp;
using namespace std::chrono_literals;

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

constexpr std::chrono::nanoseconds kMaxSweepCycle = 1s;  // every connection checked this often
constexpr std::size_t kSweepSlices = 100;                // the cycle is done in slices, see sweep()
constexpr auto kForceCloseWait = 2s;                     // after the grace, for sockets to close
constexpr int kListenBacklog = 65535;                    // the kernel caps it at somaxconn
constexpr auto kAcceptRetry = 50ms;                      // after EMFILE and friends

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::vector<std::unique_ptr<loop>> make_loops(const server_config& cfg) {
  const unsigned threads = cfg.threads > 0 ? cfg.threads : usable_cpus();
  std::vector<std::unique_ptr<loop>> loops;
  for (unsigned i = 0; i < threads; ++i) {
    // Distinct, reproducible streams per thread for requests that carry no seed of their own.
    loops.push_back(std::make_unique<loop>(cfg.seed * 0x9E3779B97F4A7C15ULL + i));
  }
  return loops;
}

void on_spawn_done(std::exception_ptr e) {
  // A coroutine that throws has a bug in it; say so rather than let it vanish.
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "mock_server: internal error in a connection: %s\n", ex.what());
  }
}

}  // namespace

struct server::impl {
  explicit impl(server_config c);

  asio::awaitable<void> accept_loop(loop& home, tcp::acceptor& acceptor);
  asio::awaitable<void> reject(tcp::socket s);
  asio::awaitable<void> sweep(loop& l);
  [[nodiscard]] bool stopping() const { return shared.stopping.load(std::memory_order_relaxed); }

  detail::shared_state shared;
  std::vector<std::unique_ptr<loop>> loops;  // after shared: coroutines touch stats as they unwind
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per loop, on that loop
  tcp::endpoint bound;
  std::vector<std::thread> threads;
  std::mutex stop_mutex;
  bool started = false;
  bool stopped = false;
};

server::impl::impl(server_config c) : shared(std::move(c)), loops(make_loops(shared.cfg)) {
  const auto& cfg = shared.cfg;
  if (auto err = validate(cfg.defaults, cfg.lim)) throw std::invalid_argument(*err);
  if (cfg.idle_timeout < 1ms) throw std::invalid_argument("idle timeout must be at least 1ms");
  tcp::endpoint ep(asio::ip::make_address(cfg.bind), cfg.port);
  {
    // SO_REUSEPORT would let this server join a port another process of the same user already
    // listens on, and the two would split each other's connections. A plain socket claims the
    // port first (port 0: picks a free one), so "address in use" still means what it says.
    tcp::acceptor probe(loops.front()->ctx);
    probe.open(ep.protocol());
    probe.set_option(tcp::acceptor::reuse_address(true));
    probe.bind(ep);
    ep = probe.local_endpoint();
  }
  for (auto& l : loops) {
    auto a = std::make_unique<tcp::acceptor>(l->ctx);
    a->open(ep.protocol());
    a->set_option(tcp::acceptor::reuse_address(true));
    a->set_option(reuse_port(true));
    a->bind(ep);
    a->listen(kListenBacklog);
    // Port 0 picks a port for the first socket; the others join it.
    ep = a->local_endpoint();
    acceptors.push_back(std::move(a));
  }
  bound = ep;
  if (cfg.tls.enabled) shared.tls = detail::make_tls_context(cfg.tls, cfg.bind);
  shared.stats.set_topology(static_cast<unsigned>(loops.size()), usable_cpus());
}

asio::awaitable<void> server::impl::accept_loop(loop& home, tcp::acceptor& acceptor) {
  auto& stats = shared.stats;
  while (!stopping()) {
    auto [ec, sock] = co_await acceptor.async_accept(home.ctx, kAwait);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or buffers: back off instead of spinning; established clients go on.
      asio::steady_timer pause(acceptor.get_executor(), kAcceptRetry);
      co_await pause.async_wait(kAwait);
      continue;
    }
    if (stats.connections_open() >= static_cast<std::int64_t>(shared.cfg.max_connections)) {
      stats.on_reject();
      asio::co_spawn(home.ctx, reject(std::move(sock)), on_spawn_done);
      continue;
    }
    stats.on_accept();
    asio::co_spawn(home.ctx, detail::run_session(std::move(sock), home, shared), on_spawn_done);
  }
}

asio::awaitable<void> server::impl::reject(tcp::socket s) {
  if (shared.tls) co_return;  // a 503 would need a handshake first: the connection is closed
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
      "Content-Length: 41\r\n\r\nmax-connections reached; try again later\n";
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(kBusy), kAwait);
  shared.stats.on_sent(n);
  error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

asio::awaitable<void> server::impl::sweep(loop& l) {
  // Walking 10,000 connections at once is milliseconds of cache misses, which would show up as
  // timer lateness for whoever is due meanwhile; so each tick checks one slice of the list and
  // a whole cycle still visits every connection.
  const auto idle_timeout = shared.cfg.idle_timeout;
  const auto cycle = std::min(kMaxSweepCycle, idle_timeout / 2);
  const auto tick = cycle / kSweepSlices;
  // stop() cancels the timer, but a wait that has already completed cannot be cancelled: the
  // flag is what ends the loop, or it would re-arm and keep the event loop alive forever.
  while (!stopping()) {
    l.sweeper.expires_after(tick);
    auto [ec] = co_await l.sweeper.async_wait(kAwait);
    if (ec || stopping()) co_return;
    const auto cutoff = steady::now() - idle_timeout;
    std::size_t budget = l.connections.size() / kSweepSlices + 1;
    while (budget-- > 0 && !l.connections.empty()) {
      if (l.sweep_cursor == l.connections.end()) l.sweep_cursor = l.connections.begin();
      connection* c = *l.sweep_cursor++;
      error_code ignored;
      if (c->idle && c->since < cutoff) c->socket.close(ignored);
    }
  }
}

server::server(server_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

server::~server() { stop(std::chrono::nanoseconds{0}); }

void server::start() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->started) return;
  impl_->started = true;
  raise_open_file_limit();
  for (std::size_t i = 0; i < impl_->loops.size(); ++i) {
    auto& l = impl_->loops[i];
    asio::co_spawn(l->ctx, impl_->accept_loop(*l, *impl_->acceptors[i]), on_spawn_done);
    asio::co_spawn(l->ctx, impl_->sweep(*l), on_spawn_done);
    impl_->threads.emplace_back([&ctx = l->ctx] {
      // The kernel may fire a thread's timers up to 50us late to batch wake-ups (timer slack);
      // a server whose job is exact delays asks for none.
      prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      ctx.run();
    });
  }
}

void server::stop(std::chrono::nanoseconds grace) {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto& self = *impl_;
  self.shared.stopping.store(true);
  if (!self.started) return;

  auto post_and_wait = [&](loop& l, auto fn) {
    std::promise<void> done;
    asio::post(l.ctx, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  for (std::size_t i = 0; i < self.loops.size(); ++i) {
    post_and_wait(*self.loops[i], [&] {
      error_code ec;
      self.acceptors[i]->close(ec);
    });
  }
  auto close_connections = [&](bool only_idle) {
    for (auto& l : self.loops) {
      post_and_wait(*l, [&] {
        for (connection* c : l->connections) {
          error_code ec;
          if (!only_idle || c->idle) c->socket.close(ec);
        }
      });
    }
  };
  auto wait_for_close = [&](std::chrono::nanoseconds limit) {
    const auto until = steady::now() + limit;
    while (self.shared.stats.connections_open() > 0 && steady::now() < until) {
      std::this_thread::sleep_for(5ms);
    }
  };
  close_connections(true);
  wait_for_close(grace);
  close_connections(false);
  wait_for_close(kForceCloseWait);
  for (auto& l : self.loops) {
    post_and_wait(*l, [&] {
      l->sweeper.cancel();
      l->guard.reset();
    });
  }
  for (auto& t : self.threads) t.join();
  self.threads.clear();
}

unsigned server::threads() const { return static_cast<unsigned>(impl_->loops.size()); }

std::uint16_t server::port() const { return impl_->bound.port(); }

std::string server::url() const {
  const auto addr = impl_->bound.address();
  std::string url = impl_->shared.tls ? "https://" : "http://";
  if (addr.is_v6()) {
    url.append("[").append(addr.to_string()).append("]");
  } else {
    url += addr.to_string();
  }
  return url + ":" + std::to_string(port());
}

stats_snapshot server::stats() const { return impl_->shared.stats.snapshot(); }

}  // namespace iobench::mock
