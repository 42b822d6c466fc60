// iobench-fetch: one batch with one fetcher, summarised like hey (or as one JSON object); or, with
// --rate, an open-loop run: requests on a schedule, latency from each one's intended send time.
//
// Before the batch it checks what the machine can give (preflight.hpp): a batch that needs more
// threads, descriptors or memory than there are is refused with one line (exit 2) instead of
// failing minutes and gigabytes later.
//
// Ctrl-C (SIGINT, or SIGTERM) prints, as hey does, a summary of the requests that finished (an
// open loop's in open-loop terms, and its .hgrm file), and exits 128 + the signal (130): see
// fetch_watch.hpp.
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "common/cli.hpp"
#include "common/open_files.hpp"
#include "common/units.hpp"
#include "fetch_args.hpp"
#include "fetch_watch.hpp"
#include "impls/fetcher.hpp"
#include "impls/summary.hpp"
#include "open_run.hpp"
#include "preflight.hpp"

namespace {

using namespace iobench;
using namespace iobench::bench;
using namespace iobench::fetch;
using namespace std::chrono_literals;

// Descriptors beyond the connections themselves: stdio, the resolver, libcurl's wake-up pipes.
constexpr std::uint64_t kSpareDescriptors = 64;
// Heap bytes behind an Outcome's detail string when a request fails (a short reason).
constexpr std::uint64_t kDetailBytes = 48;
// libstdc++ keeps strings up to 15 characters inside the object; longer ones cost a heap block
// (the characters, the terminator, malloc's header and rounding).
constexpr std::size_t kInlineString = 15;
constexpr std::uint64_t kMallocOverhead = 24;

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f secs", s);
  return buf;
}

// `incomplete`: requests that had not finished when a signal ended the batch.
void print_human(const options& o, std::size_t concurrency, const batch_summary& s,
                 std::size_t incomplete) {
  std::printf("Summary:\n");
  std::printf("  Impl:         %s (concurrency %zu, %s)\n", o.impl.c_str(), concurrency,
              o.fetch.keep_alive ? "keep-alive" : "connection per request");
  if (o.fetch.work.count() > 0 || o.fetch.block.count() > 0) {
    std::printf("  Per response: %s work, %s block\n", format_duration(o.fetch.work).c_str(),
                format_duration(o.fetch.block).c_str());
  }
  std::printf("  Total:        %s\n", seconds(s.wall_s).c_str());
  std::printf("  Slowest:      %s\n", seconds(s.max_ms / 1000).c_str());
  std::printf("  Fastest:      %s\n", seconds(s.min_ms / 1000).c_str());
  std::printf("  Average:      %s\n", seconds(s.mean_ms / 1000).c_str());
  std::printf("  Requests/sec: %.2f\n", s.req_per_s);
  std::printf("  Total data:   %llu bytes\n", static_cast<unsigned long long>(s.body_bytes));
  std::printf("  Succeeded:    %zu\n  Failed:       %zu\n", s.succeeded, s.failed);
  if (incomplete > 0) std::printf("  Incomplete:   %zu (interrupted)\n", incomplete);
  std::printf("\n");
  std::printf("Latency distribution:\n");
  std::printf("  50%% in %s\n  90%% in %s\n  99%% in %s\n  max   %s\n\n",
              seconds(s.p50_ms / 1000).c_str(), seconds(s.p90_ms / 1000).c_str(),
              seconds(s.p99_ms / 1000).c_str(), seconds(s.max_ms / 1000).c_str());
  // hey's "details", as p50 and p99: where a request's time went before its response began.
  std::printf("Details (p50, p99):\n");
  std::printf("  Connect:      %s, %s (%zu new connections)\n",
              seconds(s.connect_p50_ms / 1000).c_str(), seconds(s.connect_p99_ms / 1000).c_str(),
              s.connections);
  std::printf("  First byte:   %s, %s (%zu responses begun)\n\n",
              seconds(s.first_byte_p50_ms / 1000).c_str(),
              seconds(s.first_byte_p99_ms / 1000).c_str(), s.first_bytes);
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

void print_json(const options& o, std::size_t concurrency, const batch_summary& s,
                std::size_t incomplete, bool interrupted) {
  namespace json = boost::json;
  json::object statuses;
  for (const auto& [status, n] : s.statuses) statuses[std::to_string(status)] = n;
  json::object errors;
  for (const auto& [kind, n] : s.errors) errors[kind] = n;
  json::object doc{
      {"impl", o.impl},
      {"requests", o.requests},
      {"concurrency", concurrency},
      {"keep_alive", o.fetch.keep_alive},
      {"work_us", std::chrono::duration<double, std::micro>(o.fetch.work).count()},
      {"block_us", std::chrono::duration<double, std::micro>(o.fetch.block).count()},
      {"succeeded", s.succeeded},
      {"failed", s.failed},
      {"wall_s", s.wall_s},
      {"req_per_s", s.req_per_s},
      {"body_bytes", s.body_bytes},
      {"latency_ms",
       json::object{{"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}, {"max", s.max_ms}}},
      {"details", json::object{{"connect_ms", json::object{{"p50", s.connect_p50_ms},
                                                           {"p99", s.connect_p99_ms},
                                                           {"count", s.connections}}},
                               {"first_byte_ms", json::object{{"p50", s.first_byte_p50_ms},
                                                              {"p99", s.first_byte_p99_ms},
                                                              {"count", s.first_bytes}}}}},
      {"statuses", std::move(statuses)},
      {"errors", std::move(errors)},
      {"incomplete", incomplete},
      {"interrupted", interrupted}};
  std::cout << json::serialize(doc) << "\n";
}

// A thread-per-request model gives each worker a libcurl multi handle, whose wake-up descriptors
// it holds beside its connection: a socket pair in libcurl 7.88 (Debian 12; 3 a worker), an
// eventfd in 8.14 (Debian 13; 2 a worker). Counted once, on a multi handle made for the purpose.
std::uint64_t descriptors_per_worker_thread() {
  static const std::uint64_t n = [] {
    const auto open = [] {
      std::error_code ec;
      const auto fds = std::filesystem::directory_iterator("/proc/self/fd", ec);
      return ec ? 0 : std::distance(begin(fds), end(fds));
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const auto before = open();
    CURLM* multi = curl_multi_init();
    const auto after = open();
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    const auto wake_up = after > before ? after - before : 2;  // /proc unreadable: 7.88's pair
    return 1 + static_cast<std::uint64_t>(wake_up);
  }();
  return n;
}

// What the batch will take from the machine: descriptors for its connections, threads for a
// thread-per-request model, and memory for the bookkeeping that grows with -n (the requests, the
// outcomes, the summary's sorted latencies and the log an interrupted batch is summarised from;
// an open loop's schedule).
// A thread-per-request model's workers wait for a free descriptor instead of failing (thread_pool:
// impls/src/thread_pool.cpp), so descriptors limit how many of its requests are in flight, not
// whether the batch completes: it needs one worker's worth, and threads for all of them.
batch_needs needs_of(const options& o, const model_info& model, std::size_t concurrency) {
  batch_needs n;
  n.subject = "-n " + std::to_string(o.requests) + " -c " + std::to_string(concurrency) + " (" +
              o.impl + (model.thread_per_request ? ": a thread per request in flight)" : ")");
  const std::uint64_t connections = std::min(concurrency, o.requests);
  n.threads = model.thread_per_request ? concurrency : 0;
  n.descriptors = (model.thread_per_request ? descriptors_per_worker_thread() : connections) +
                  kSpareDescriptors;
  // A URL longer than the small-string buffer lives on the heap, once per Request.
  const std::uint64_t url_heap = o.url.size() > kInlineString ? o.url.size() + kMallocOverhead : 0;
  std::uint64_t per_request = sizeof(Request) + url_heap + sizeof(Outcome) + kDetailBytes +
                              sizeof(double) + sizeof(Outcome);
  // An open loop adds its schedule and the log of its sends.
  if (o.open) per_request += sizeof(Clock::time_point) + sizeof(send_record);
  n.memory = per_request * o.requests;
  return n;
}

// For a thread-per-request model whose workers would hold more descriptors than the machine
// leaves: a word before the batch that fewer of its requests will be in flight than -c asks (how
// many depends on timing: a worker that found no descriptor for its handle's wake-up holds only
// its connection; the server's max_in_flight shows it after).
std::optional<std::string> descriptor_note(const options& o, const model_info& model,
                                           std::size_t concurrency,
                                           const machine_headroom& machine) {
  if (!model.thread_per_request) return std::nullopt;
  const std::uint64_t connections = std::min(concurrency, o.requests);
  const std::uint64_t wanted = connections * descriptors_per_worker_thread() + kSpareDescriptors;
  const headroom* tightest = nullptr;
  for (const auto& h : machine.descriptors) {
    if (tightest == nullptr || h.left < tightest->left) tightest = &h;
  }
  if (tightest == nullptr || wanted <= tightest->left) return std::nullopt;
  return "note: -c " + std::to_string(concurrency) + " (" + o.impl + ") would hold about " +
         std::to_string(wanted) + " descriptors at once, but " + tightest->name + " leaves " +
         std::to_string(tightest->left) +
         ": fewer requests will be in flight at a time (its workers wait for a free descriptor "
         "instead of failing); " +
         tightest->raise;
}

// An open-loop run's summary (or JSON) and its .hgrm file, whether the run ended or was
// interrupted; false when the .hgrm file could not be written.
bool report_open(const options& o, std::size_t concurrency, const open_loop_summary& s,
                 bool interrupted) {
  if (o.json) {
    auto doc = open_json(*o.open, s);
    doc["impl"] = o.impl;
    doc["concurrency"] = concurrency;
    doc["keep_alive"] = o.fetch.keep_alive;
    doc["work_us"] = std::chrono::duration<double, std::micro>(o.fetch.work).count();
    doc["block_us"] = std::chrono::duration<double, std::micro>(o.fetch.block).count();
    doc["interrupted"] = interrupted;
    std::cout << boost::json::serialize(doc) << "\n";
  } else {
    print_open(stdout, o.impl, concurrency, *o.open, s);
  }
  std::cout.flush();
  if (o.hgrm.empty()) return true;
  std::ofstream out(o.hgrm);
  s.latency_ns.write_hgrm(out, 1e6);  // nanoseconds -> milliseconds
  out.close();
  if (!out) {
    std::cerr << "iobench-fetch: --hgrm: cannot write '" << o.hgrm << "'\n";
    return false;
  }
  return true;
}

// The open-loop run: exit 0 only when every scheduled request succeeded. `planned` is where the
// watch finds the schedule should a signal end the run.
int run_open(const options& o, std::size_t concurrency, Fetcher& fetcher, batch_watch& watch,
             std::atomic<const open_plan*>& planned) {
  const open_plan plan = plan_open_step(*o.open);
  planned.store(&plan);
  const auto r = run_open_step(fetcher, o.url, *o.open, plan);
  if (!watch.claim_summary()) pause();  // a signal is printing its summary and ending us
  watch.finish();
  planned.store(nullptr);
  if (!report_open(o, concurrency, r.summary, false)) return 1;
  return r.summary.succeeded == r.summary.scheduled ? 0 : 1;
}

// What a signal prints of an open-loop run: its summary so far (requests in flight and never sent
// are incomplete), and its .hgrm.
void report_open_so_far(const options& o, std::size_t concurrency, const finished_log& log,
                        const open_plan* plan) {
  // Not planned yet: nothing was sent, every request the schedule would hold is incomplete.
  const std::vector<Clock::time_point> unplanned(plan == nullptr ? o.requests : 0);
  const auto s = log.summarize_open_so_far(plan != nullptr ? plan->schedule : unplanned,
                                           o.open->duration, o.open->rate);
  report_open(o, concurrency, s, true);
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
  batch_watch::block_signals();
  try {
    const model_info& model = *find_model(o.impl);
    // A model this machine refuses (uring where io_uring is off) is skipped, not failed.
    if (const std::string why = model_unavailable(o.impl); !why.empty()) {
      std::cerr << "iobench-fetch: " << o.impl << " skipped: " << why << "\n";
      return 0;
    }
    const std::size_t concurrency = model.one_at_a_time ? 1 : o.fetch.concurrency;
    if (model.one_at_a_time && o.fetch.concurrency > 1) {
      std::cerr << "iobench-fetch: note: " << o.impl << " runs one request at a time; -c ignored\n";
    }
    raise_open_file_limit();
    const machine_headroom machine = read_machine_headroom();
    if (const auto why = refuse(needs_of(o, model, concurrency), machine)) {
      std::cerr << "iobench-fetch: " << *why << "\n";
      return cli::kUsageExit;
    }
    if (const auto note = descriptor_note(o, model, concurrency, machine)) {
      std::cerr << "iobench-fetch: " << *note << "\n";
    }
    std::atomic<const open_plan*> planned{nullptr};
    batch_watch watch(
        o.requests,
        [&](const finished_log& log, Clock::duration wall) {
          if (o.open) {
            report_open_so_far(o, concurrency, log, planned.load());
            return;
          }
          const auto finished = log.summarize_finished(wall);
          if (o.json) {
            print_json(o, concurrency, finished, o.requests - finished.requests, true);
          } else {
            print_human(o, concurrency, finished, o.requests - finished.requests);
          }
        },
        o.open.has_value());
    watch.start(o.fetch);
    auto fetcher = make_fetcher(o.impl, o.fetch);
    const std::vector<Request> requests(o.requests, Request{o.url});

    watch.batch_started();
    if (o.open) return run_open(o, concurrency, *fetcher, watch, planned);
    const auto t0 = Clock::now();
    const auto outcomes = fetcher->fetch_all(requests);
    const auto wall = Clock::now() - t0;
    if (!watch.claim_summary()) pause();  // a signal is printing its summary and ending us
    watch.finish();
    const auto s = summarize(outcomes, wall);
    if (o.json) {
      print_json(o, concurrency, s, 0, false);
    } else {
      print_human(o, concurrency, s, 0);
    }
    return s.failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "iobench-fetch: " << e.what() << "\n";
    return 1;
  }
}
