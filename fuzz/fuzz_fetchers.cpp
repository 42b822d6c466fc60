// Fuzz target: every registered model's response handling, driven through the public API
// (iobench::fetcher_names(), iobench::make_fetcher, Fetcher::fetch_all) over real sockets.
//
// A raw-socket server thread answers every connection: it reads the request head, sends the
// input, half-closes and closes. With the markers of fuzz_support.hpp a short input stands for
// megabytes (<<FLOOD>>: an endless header, chunk extension or body) or for a different answer to
// each connection of a batch (<<NEXT>>: the parts in turn). Each input is fetched by every model,
// two requests per batch on one keep-alive connection, so bytes left over after a response meet
// the second request on the reused connection, and a model's handles carry state from one
// request (and one input) to the next, as they do in a benchmark.
//
// Invariants, beyond ASan/UBSan/LSan and libFuzzer's malloc limit (which catches a response the
// client buffers without bound), from impls/include/impls/fetcher.hpp's contract:
// - fetch_all returns one Outcome per Request and never throws;
// - every error kind is one of the enum's values, and a failure carries a detail;
// - status is 0 exactly when error != none, and a response's status is an HTTP code (100-999);
// - body_bytes never exceeds the bytes sent on a connection; end >= start;
// - the total timeout holds: no request takes longer than Options::timeout plus slack.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fuzz_support.hpp"
#include "impls/fetcher.hpp"

namespace {

using namespace iobench::fuzz;
using namespace std::chrono_literals;

// A flood is twice libFuzzer's -malloc_limit_mb (scripts/fuzz.sh): a parser that buffers it all
// trips the limit.
constexpr std::size_t kFloodCap = 8u << 20;
constexpr auto kTimeout = 2000ms;  // Options::timeout of every fetcher
constexpr auto kConnectTimeout = 1000ms;
// A loaded machine under ASan can be late by a lot; the overruns worth finding are many times it.
constexpr auto kTimeoutSlack = kTimeout;
constexpr std::size_t kRequests = 2;

// Answers every connection with the current input, one connection at a time.
class raw_server {
 public:
  raw_server() : listen_fd_(listen_loopback(port_)), thread_([this] { run(); }) {}
  ~raw_server() {
    stop_ = true;
    thread_.join();
    close_fd(listen_fd_);
  }
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  /// Answers the connections from now on with the parts of `input`, starting with the first.
  void answer_with(std::string_view input) {
    const std::lock_guard lock(mutex_);
    parts_.clear();
    for (const auto part : split_parts(input)) parts_.emplace_back(part);
    next_ = 0;
  }

 private:
  void run() {
    while (!stop_) {
      int fd = accept_until(listen_fd_, Clock::now() + 50ms);
      if (fd < 0) continue;
      std::string answer;
      {
        const std::lock_guard lock(mutex_);
        if (!parts_.empty()) answer = parts_[next_++ % parts_.size()];
      }
      if (read_request_head(fd, Clock::now() + kTimeout)) {
        byte_stream stream(answer, kFloodCap);
        exchange(fd, stream, {.total = kTimeout + kTimeoutSlack, .read_until_close = false});
      }
      close_fd(fd);
    }
  }

  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> parts_;
  std::size_t next_ = 0;
  std::thread thread_;  // last: starts once everything it reads exists
};

struct model {
  std::string_view name;
  std::unique_ptr<iobench::Fetcher> fetcher;
};

struct harness {
  raw_server server;
  std::vector<model> models;
  std::vector<iobench::Request> requests;

  harness() {
    const iobench::Options options{.concurrency = 1,
                                   .keep_alive = true,
                                   .connect_timeout = kConnectTimeout,
                                   .timeout = kTimeout};
    for (const auto name : iobench::fetcher_names()) {
      // A model this machine refuses (uring where io_uring is off) is left out, as the suites do.
      if (!iobench::model_unavailable(name).empty()) continue;
      models.push_back({name, iobench::make_fetcher(name, options)});
    }
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/fuzz";
    requests.assign(kRequests, iobench::Request{url});
  }
};

harness& the_harness() {
  static harness h;
  return h;
}

std::string describe(std::string_view model, const iobench::Outcome& o) {
  return std::string(model) + ": status " + std::to_string(o.status) + ", error " +
         std::string(iobench::to_string(o.error)) + ", body_bytes " + std::to_string(o.body_bytes) +
         ", latency " +
         std::to_string(
             std::chrono::duration_cast<std::chrono::milliseconds>(o.latency()).count()) +
         " ms, detail '" + o.detail + "'";
}

// The first broken invariant of one outcome, or nullopt.
std::optional<std::string> broken(const iobench::Outcome& o, std::size_t stream_bytes) {
  using iobench::ErrorKind;
  switch (o.error) {
    case ErrorKind::none:
    case ErrorKind::connect:
    case ErrorKind::timeout:
    case ErrorKind::reset:
    case ErrorKind::bad_response:
      break;
    default:
      return "error kind " + std::to_string(static_cast<int>(o.error)) + " is not an ErrorKind";
  }
  if (o.error == ErrorKind::none && o.status == 0) return "status 0 with error none";
  if (o.error != ErrorKind::none && o.status != 0) return "a failed request has a status";
  if (o.error == ErrorKind::none && (o.status < 100 || o.status > 999)) {
    return "status is not an HTTP status code";
  }
  if (o.error != ErrorKind::none && o.detail.empty()) return "a failed request has no detail";
  if (o.body_bytes > stream_bytes) return "more body bytes than the server sent on a connection";
  if (o.end < o.start) return "end before start";
  if (o.latency() > kTimeout + kTimeoutSlack) return "the total timeout did not hold";
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& h = the_harness();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t stream_bytes = 0;  // the most any one connection is sent
  for (const auto part : split_parts(input)) {
    stream_bytes = std::max(stream_bytes, byte_stream(part, kFloodCap).total());
  }
  std::vector<std::vector<iobench::Outcome>> results;
  for (auto& m : h.models) {
    h.server.answer_with(input);  // every model sees the same sequence of answers
    try {
      results.push_back(m.fetcher->fetch_all(h.requests));
    } catch (const std::exception& e) {
      finding(std::string(m.name) + ": fetch_all threw: " + e.what());
    } catch (...) {
      finding(std::string(m.name) + ": fetch_all threw something that is not std::exception");
    }
    if (results.back().size() != h.requests.size()) {
      finding(std::string(m.name) + ": " + std::to_string(results.back().size()) +
              " outcomes for " + std::to_string(h.requests.size()) + " requests");
    }
  }
  // Checked once every model has run, so that a finding shows what each model made of the input.
  for (std::size_t m = 0; m < h.models.size(); ++m) {
    for (std::size_t i = 0; i < h.requests.size(); ++i) {
      const auto why = broken(results[m][i], stream_bytes);
      if (!why) continue;
      std::string what = std::string(h.models[m].name) + ", request " + std::to_string(i) + ": " +
                         *why + "\n  every model, request " + std::to_string(i) + ":";
      for (std::size_t k = 0; k < h.models.size(); ++k) {
        what += "\n    " + describe(h.models[k].name, results[k][i]);
      }
      finding(what);
    }
  }
  return 0;
}
