// iobench-fetch: one batch with one fetcher, summarised like hey (or as one JSON object).
#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/cli.hpp"
#include "common/open_files.hpp"
#include "common/units.hpp"
#include "impls/fetcher.hpp"
#include "impls/summary.hpp"

namespace {

using namespace iobench;
using namespace std::chrono_literals;

constexpr std::size_t kMaxRequests = 100'000'000;
constexpr auto kProgressEvery = 1s;
// Descriptors beyond the connections themselves: stdio, the resolver, libcurl's wake-up pipes.
constexpr std::uint64_t kSpareDescriptors = 64;

constexpr std::string_view kUsage = R"(usage: iobench-fetch [options] URL

Fetches URL N times with one I/O model and prints a summary like hey's.

options:
  --impl NAME          the model (default coroutine):
)";

constexpr std::string_view kOptions = R"(  -n N                 number of requests (default 1)
  -c C                 requests in flight at most (default 1; a model that runs one request at
                       a time always uses 1)
  --timeout D          total timeout per request (default 30s)
  --connect-timeout D  connection setup timeout (default 5s)
  --no-keepalive       a new connection per request
  --json               print one JSON object instead of the summary
  -h, --help           this text

exit status: 0 every request succeeded (complete response, 2xx), 1 some failed, 2 usage error.
)";

constexpr std::size_t kModelIndent = 23;

std::string help_text() {
  std::vector<cli::help_row> rows;
  for (const auto& m : models()) rows.push_back({m.name, m.summary});
  return std::string(kUsage) + cli::format_help_rows(rows, kModelIndent) + std::string(kOptions);
}

struct options {
  std::string impl = "coroutine";
  std::size_t requests = 1;
  Options fetch;
  bool json = false;
  std::string url;
};

options parse_args(int argc, char** argv) {
  options o;
  cli::arg_reader args(argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      args.no_value();
      std::cout << help_text();
      std::exit(0);
    } else if (args.is("--impl")) {
      o.impl = args.value();
    } else if (args.is("-n")) {
      o.requests = args.u64(1, kMaxRequests);
    } else if (args.is("-c")) {
      o.fetch.concurrency = args.u64(1, 1'000'000);
    } else if (args.is("--timeout")) {
      o.fetch.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(args.duration());
    } else if (args.is("--connect-timeout")) {
      o.fetch.connect_timeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(args.duration());
    } else if (args.is("--no-keepalive")) {
      args.no_value();
      o.fetch.keep_alive = false;
    } else if (args.is("--json")) {
      args.no_value();
      o.json = true;
    } else if (args.positional() && o.url.empty()) {
      o.url = std::string(args.current());
    } else {
      args.unknown();
    }
  }
  if (o.url.empty()) throw cli::usage_error("missing URL");
  const auto u = boost::urls::parse_uri(o.url);
  if (!u || u->scheme_id() != boost::urls::scheme::http || u->host().empty()) {
    throw cli::usage_error("URL must look like http://host[:port]/path (got '" + o.url + "')");
  }
  if (find_model(o.impl) == nullptr) {
    std::string known;
    for (auto n : fetcher_names()) known += (known.empty() ? "" : ", ") + std::string(n);
    throw cli::usage_error("--impl: unknown '" + o.impl + "'; known: " + known);
  }
  if (o.fetch.timeout.count() <= 0 || o.fetch.connect_timeout.count() <= 0) {
    throw cli::usage_error("timeouts must be at least 1ms");
  }
  return o;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f secs", s);
  return buf;
}

void print_human(const options& o, std::size_t concurrency, const batch_summary& s) {
  std::printf("Summary:\n");
  std::printf("  Impl:         %s (concurrency %zu, %s)\n", o.impl.c_str(), concurrency,
              o.fetch.keep_alive ? "keep-alive" : "connection per request");
  std::printf("  Total:        %s\n", seconds(s.wall_s).c_str());
  std::printf("  Slowest:      %s\n", seconds(s.max_ms / 1000).c_str());
  std::printf("  Fastest:      %s\n", seconds(s.min_ms / 1000).c_str());
  std::printf("  Average:      %s\n", seconds(s.mean_ms / 1000).c_str());
  std::printf("  Requests/sec: %.2f\n", s.req_per_s);
  std::printf("  Total data:   %llu bytes\n", static_cast<unsigned long long>(s.body_bytes));
  std::printf("  Succeeded:    %zu\n  Failed:       %zu\n\n", s.succeeded, s.failed);
  std::printf("Latency distribution:\n");
  std::printf("  50%% in %s\n  90%% in %s\n  99%% in %s\n  max   %s\n\n",
              seconds(s.p50_ms / 1000).c_str(), seconds(s.p90_ms / 1000).c_str(),
              seconds(s.p99_ms / 1000).c_str(), seconds(s.max_ms / 1000).c_str());
  if (!s.statuses.empty()) {
    std::printf("Status code distribution:\n");
    for (const auto& [status, n] : s.statuses) std::printf("  [%d] %zu responses\n", status, n);
    std::printf("\n");
  }
  bool any_error = false;
  for (const auto& [kind, n] : s.errors) any_error = any_error || n > 0;
  if (any_error) {
    std::printf("Error distribution:\n");
    for (const auto& [kind, n] : s.errors) {
      if (n > 0) std::printf("  [%zu] %s\n", n, kind.c_str());
    }
  }
}

void print_json(const options& o, std::size_t concurrency, const batch_summary& s) {
  namespace json = boost::json;
  json::object statuses;
  for (const auto& [status, n] : s.statuses) statuses[std::to_string(status)] = n;
  json::object errors;
  for (const auto& [kind, n] : s.errors) errors[kind] = n;
  json::object doc{
      {"impl", o.impl},
      {"requests", s.requests},
      {"concurrency", concurrency},
      {"keep_alive", o.fetch.keep_alive},
      {"succeeded", s.succeeded},
      {"failed", s.failed},
      {"wall_s", s.wall_s},
      {"req_per_s", s.req_per_s},
      {"body_bytes", s.body_bytes},
      {"latency_ms",
       json::object{{"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}, {"max", s.max_ms}}},
      {"statuses", std::move(statuses)},
      {"errors", std::move(errors)}};
  std::cout << json::serialize(doc) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_args(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "iobench-fetch: " << e.what() << " (see --help)\n";
    return cli::kUsageExit;
  }
  try {
    const bool one_at_a_time = find_model(o.impl)->one_at_a_time;
    const std::size_t concurrency = one_at_a_time ? 1 : o.fetch.concurrency;
    if (one_at_a_time && o.fetch.concurrency > 1) {
      std::cerr << "iobench-fetch: note: " << o.impl << " runs one request at a time; -c ignored\n";
    }
    const std::uint64_t fds = raise_open_file_limit();
    if (std::min(concurrency, o.requests) + kSpareDescriptors > fds) {
      std::cerr << "iobench-fetch: -c " << concurrency << " needs more open files than the limit ("
                << fds << "); raise `ulimit -n`\n";
      return cli::kUsageExit;
    }
    std::atomic<std::size_t> completed{0};
    o.fetch.completed = &completed;
    auto fetcher = make_fetcher(o.impl, o.fetch);
    const std::vector<Request> requests(o.requests, Request{o.url});

    // Progress on a terminal only: logs and pipes get the summary alone.
    std::atomic<bool> finished{false};
    std::thread progress;
    if (isatty(STDERR_FILENO) != 0) {
      progress = std::thread([&] {
        const auto t0 = Clock::now();
        while (!finished.load()) {
          std::this_thread::sleep_for(100ms);
          const auto elapsed = Clock::now() - t0;
          if (elapsed >= kProgressEvery && !finished.load()) {
            std::fprintf(stderr, "\r  %zu/%zu done, %.1fs ", completed.load(), o.requests,
                         std::chrono::duration<double>(elapsed).count());
          }
        }
        std::fprintf(stderr, "\r\033[K");
      });
    }
    const auto t0 = Clock::now();
    const auto outcomes = fetcher->fetch_all(requests);
    const auto wall = Clock::now() - t0;
    finished.store(true);
    if (progress.joinable()) progress.join();

    const auto s = summarize(outcomes, wall);
    if (o.json) {
      print_json(o, concurrency, s);
    } else {
      print_human(o, concurrency, s);
    }
    return s.failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "iobench-fetch: " << e.what() << "\n";
    return 1;
  }
}
