#include "server_watch.hpp"

namespace iobench::bench {
namespace {

// How often the watch looks at the child and the progress count: a dead server is noticed
// within this, and a stop is waited for at most this.
constexpr std::chrono::milliseconds kTick{100};
// How long a child that failed the probe has to end on its own before it is killed.
constexpr std::chrono::seconds kEndingWait{2};

}  // namespace

server_watch::server_watch(std::string base_url, server_process* own)
    : base_url_(std::move(base_url)), own_(own), thread_([this] { watch(); }) {}

server_watch::~server_watch() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string server_watch::gone() {
  if (own_ != nullptr) {
    if (auto why = own_->ended(); !why.empty()) record("mock_server " + why);
  }
  std::lock_guard lock(mutex_);
  return gone_;
}

std::string server_watch::check_now() {
  if (auto why = gone(); !why.empty()) return why;
  return probe();
}

void server_watch::record(std::string why) {
  std::lock_guard lock(mutex_);
  if (gone_.empty()) gone_ = std::move(why);  // the first cause is the one that counts
}

std::string server_watch::probe() {
  if (server_answers(base_url_, kProbeTimeout)) return gone();
  if (own_ != nullptr) {
    // A server on its way out (SIGTERM: it closes its listener, then drains) refuses the probe
    // while it still runs: give it a moment to end, so that the reason is its own.
    const auto until = std::chrono::steady_clock::now() + kEndingWait;
    while (gone().empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(kTick);
    }
  }
  if (auto why = gone(); !why.empty()) return why;
  const auto seconds = std::to_string(kProbeTimeout.count());
  if (own_ != nullptr) {
    own_->kill_now();
    record("mock_server stopped answering (no answer to GET /healthz within " + seconds +
           " s), so it was killed");
  } else {
    record("the server " + base_url_ + " stopped answering (no answer to GET /healthz within " +
           seconds + " s)");
  }
  return gone();
}

void server_watch::watch() {
  std::size_t seen = progress_.load(std::memory_order_relaxed);
  auto quiet_since = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    std::this_thread::sleep_for(kTick);
    if (!gone().empty()) continue;  // nothing more to watch, but threads() stays true
    const std::size_t now_seen = progress_.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (now_seen != seen) {
      seen = now_seen;
      quiet_since = now;
    } else if (now - quiet_since >= kQuietBeforeProbe) {
      probe();
      quiet_since = std::chrono::steady_clock::now();
    }
  }
}

}  // namespace iobench::bench
