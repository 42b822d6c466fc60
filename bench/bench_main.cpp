// build/bin/iobench: the Google Benchmark suite. One iteration is one fetch_all batch, timed on
// the wall clock. Google Benchmark's statistics are across repetitions, so per-request latency
// percentiles are recorded here, over every request of every iteration.
#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/version.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "impls/fetcher.hpp"
#include "impls/summary.hpp"
#include "common/open_files.hpp"
#include "reference.hpp"
#include "server_process.hpp"
#include "suite.hpp"

#ifndef IOBENCH_SOURCE_DIR
#define IOBENCH_SOURCE_DIR "."
#endif
#ifndef IOBENCH_BUILD_TYPE
#define IOBENCH_BUILD_TYPE "unknown"
#endif

namespace {

using namespace iobench;
using namespace iobench::bench;

constexpr double kMaxIterations = 100;
// Rough cost of a request when nothing waits (for choosing iteration counts only).
constexpr double kZeroDelayRequestS = 1.0 / 25000;
constexpr double kConnectionSetupS = 60e-6;
constexpr double kPythonRequestS = 1.0 / 3000;

constexpr std::string_view kHelp =
    R"(usage: iobench [--suite NAME] [--server URL] [--impls a,b] [Google Benchmark flags]

Runs the iobench suite: every benchmark fetches one batch per iteration from a mock server and
reports makespan (real_time) and the counters req_per_s, p50_ms, p90_ms, p99_ms, max_ms,
efficiency, cpu_us_per_req, peak_rss_mib, threads, errors, server_max_in_flight,
server_late_p99_ms.

options:
  --suite NAME     quick, default, full, seed, ci or smoke (default: default)
  --server URL     use this mock server instead of starting one next to this binary
  --impls a,b      only these: the models sequential, thread_pool, coroutine, curl_multi; the
                   references py_asyncio, py_threads, py_sequential (the blog posts' Python,
                   run by /usr/bin/python3) and wrk (the zero-delay ceiling)
  --server-args S  extra flags for the mock_server it starts, e.g. "--threads 2" or
                   "--extra-delay 2ms" (a uniformly slower network)
  -h, --help       this text

Google Benchmark's own flags work as usual, e.g. --benchmark_filter=coroutine,
--benchmark_out=results.json --benchmark_out_format=json, --benchmark_repetitions=3,
--benchmark_list_tests.
)";

struct options {
  std::string suite = "default";
  std::string server;
  std::vector<std::string> impls;
  std::vector<std::string> server_args;
  std::string filter;                      // --benchmark_filter, for counting what will run
  std::string display_format = "console";  // --benchmark_format
  std::string out_format = "json";         // --benchmark_out_format
  bool has_out = false;                    // --benchmark_out
  std::vector<char*> rest;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "iobench: " << msg << " (see --help)\n";
  std::exit(2);
}

options parse_args(int argc, char** argv) {
  options o;
  o.rest.push_back(argv[0]);
  auto value = [&](int& i, std::string_view flag) -> std::string {
    const std::string_view arg = argv[i];
    if (arg.size() > flag.size() && arg[flag.size()] == '=')
      return std::string(arg.substr(flag.size() + 1));
    if (i + 1 >= argc) usage_error(std::string(flag) + ": missing value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto is = [&](std::string_view flag) {
      return arg == flag ||
             (arg.starts_with(flag) && arg.size() > flag.size() && arg[flag.size()] == '=');
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << kHelp;
      std::exit(0);
    } else if (is("--suite")) {
      o.suite = value(i, "--suite");
    } else if (is("--server")) {
      o.server = value(i, "--server");
      while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
    } else if (is("--server-args")) {
      std::stringstream s(value(i, "--server-args"));
      for (std::string item; s >> item;) o.server_args.push_back(item);
    } else if (is("--impls")) {
      std::stringstream s(value(i, "--impls"));
      for (std::string item; std::getline(s, item, ',');) {
        if (!item.empty()) o.impls.push_back(item);
      }
    } else {
      if (arg.starts_with("--benchmark_filter=")) o.filter = arg.substr(19);
      if (arg.starts_with("--benchmark_format=")) o.display_format = arg.substr(19);
      if (arg.starts_with("--benchmark_out_format=")) o.out_format = arg.substr(23);
      if (arg.starts_with("--benchmark_out=")) o.has_out = true;
      o.rest.push_back(argv[i]);
    }
  }
  return o;
}

// Google Benchmark matches --benchmark_filter as a regular expression, '-' negating it.
bool selected(const std::string& name, const std::string& filter) {
  if (filter.empty() || filter == "all" || filter == ".") return true;
  const bool negate = filter.front() == '-';
  const std::regex re(negate ? filter.substr(1) : filter, std::regex::extended);
  return std::regex_search(name, re) != negate;
}

// --- process probes ------------------------------------------------------------------------

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::optional<long> status_field_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return std::nullopt;
}

// Peak RSS of one benchmark: give freed memory back, then restart the kernel's high-water mark
// (clear_refs "5"), so a light benchmark after a heavy one is not charged the heavy one's peak.
void reset_peak_rss() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

double peak_rss_mib() { return static_cast<double>(status_field_kb("VmHWM:").value_or(0)) / 1024; }

double thread_count() { return static_cast<double>(status_field_kb("Threads:").value_or(0)); }

std::string git_sha() {
  if (const char* env = std::getenv("IOBENCH_GIT_SHA"); env != nullptr && *env != '\0') return env;
  const std::string cmd =
      "git -C '" + std::string(IOBENCH_SOURCE_DIR) + "' rev-parse --short=12 HEAD 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[64];
    while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

// --- the run ---------------------------------------------------------------------------------

// Everything the benchmarks share: the server (started on first use) and the progress count.
struct run_state {
  options opts;
  std::filesystem::path server_binary;
  std::unique_ptr<server_process> own_server;
  std::string server_url;
  std::string server_error;
  std::size_t total_runs = 0;
  std::size_t runs_started = 0;

  const std::string& server() {
    if (server_url.empty() && server_error.empty()) {
      if (!opts.server.empty()) {
        server_url = opts.server;
      } else {
        try {
          own_server = std::make_unique<server_process>(server_binary, opts.server_args);
          server_url = own_server->url();
          std::cerr << "iobench: started mock_server at " << server_url << "\n";
        } catch (const std::exception& e) {
          server_error = std::string("cannot start mock_server: ") + e.what();
        }
      }
    }
    return server_url;
  }
};

run_state* g_run = nullptr;

double iterations_for(const point& p, double target_s) {
  const double setup = kConnectionSetupS * static_cast<double>(p.effective_concurrency());
  const double per_request = is_python_reference(p.impl) ? kPythonRequestS : kZeroDelayRequestS;
  const double expected =
      std::max(ideal_makespan_s(p), per_request * static_cast<double>(p.requests)) + setup;
  return std::clamp(std::round(target_s / expected), 1.0, kMaxIterations);
}

double target_seconds(std::string_view suite) {
  if (suite == "smoke") return 0;
  if (suite == "quick") return 0.3;
  if (suite == "seed") return 3;
  if (suite == "ci") return 0.4;
  return 0.6;
}

// What a benchmark measured over its iterations, whoever measured it.
struct measured {
  std::vector<double> latencies_ms;
  std::size_t errors = 0;
  double wall_s = 0;
  double cpu_s = 0;
  double peak_rss_mib = 0;
  double rss_base_mib = 0;
  double threads = 0;

  void add(const std::vector<Outcome>& outcomes) {
    for (const auto& out : outcomes) {
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(out.latency()).count());
      errors += out.succeeded() ? 0 : 1;
    }
  }
};

// The counters every model and reference row reports (names fixed by DESIGN.md).
void fill_counters(benchmark::State& state, const point& p, measured& m, const std::string& base) {
  const auto iterations = static_cast<double>(state.iterations());
  const double total_requests = iterations * static_cast<double>(p.requests);
  std::sort(m.latencies_ms.begin(), m.latencies_ms.end());
  auto& c = state.counters;
  c["req_per_s"] = m.wall_s > 0 ? total_requests / m.wall_s : 0;
  c["p50_ms"] = percentile(m.latencies_ms, 0.50);
  c["p90_ms"] = percentile(m.latencies_ms, 0.90);
  c["p99_ms"] = percentile(m.latencies_ms, 0.99);
  c["max_ms"] = m.latencies_ms.empty() ? 0 : m.latencies_ms.back();
  c["efficiency"] = efficiency(ideal_makespan_s(p), m.wall_s / iterations);
  c["ideal_s"] = ideal_makespan_s(p);  // what efficiency is measured against
  c["cpu_us_per_req"] = total_requests > 0 ? m.cpu_s * 1e6 / total_requests : 0;
  c["peak_rss_mib"] = m.peak_rss_mib;
  // What the process held before the batch (freed thread stacks glibc keeps, caches, the
  // interpreter): the report shows peak - base as what the batch itself added.
  c["rss_base_mib"] = m.rss_base_mib;
  c["threads"] = m.threads;
  c["errors"] = static_cast<double>(m.errors);
  const auto s = read_server_stats(base);
  c["server_max_in_flight"] = s.max_in_flight;
  c["server_late_p99_ms"] = s.late_p99_ms;
  std::string label = p.label;
  if (m.errors > 0) {
    label += (label.empty() ? "" : "; ") + std::to_string(m.errors) + " requests failed";
  }
  if (!label.empty()) state.SetLabel(label);
}

// A C++ model: wall time, CPU and memory are this process's.
void run_fetcher(benchmark::State& state, const point& p, const std::vector<Request>& requests,
                 const Options& o, measured& m) {
  auto fetcher = make_fetcher(p.impl, o);
  reset_peak_rss();
  m.rss_base_mib = static_cast<double>(status_field_kb("VmRSS:").value_or(0)) / 1024;
  m.threads = thread_count();
  const double cpu_before = process_cpu_s();
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const auto outcomes = fetcher->fetch_all(requests);
    m.wall_s += std::chrono::duration<double>(Clock::now() - t0).count();
    m.add(outcomes);
    m.threads = std::max(m.threads, thread_count());
  }
  m.cpu_s = process_cpu_s() - cpu_before;
  m.peak_rss_mib = peak_rss_mib();
}

// A Python reference: the child times its batches and reports its own CPU, memory, threads.
void run_python(benchmark::State& state, const point& p, const std::vector<Request>& requests,
                const Options& o, measured& m) {
  python_runner child(p.impl, o);
  bool first = true;
  for (auto _ : state) {
    const auto b = child.run(requests);
    state.SetIterationTime(b.wall_s);
    m.wall_s += b.wall_s;
    m.cpu_s += b.cpu_s;
    m.peak_rss_mib = std::max(m.peak_rss_mib, b.peak_rss_mib);
    if (first) m.rss_base_mib = b.rss_start_mib;  // the interpreter before any batch
    first = false;
    m.threads = std::max(m.threads, b.threads);
    m.add(b.outcomes);
  }
}

// wrk, the ceiling: it runs for a duration, so its "batch" is N requests at its measured rate.
// Counters it cannot give (efficiency, threads, per-request latencies beyond its percentiles)
// are left out rather than invented.
void run_wrk_point(benchmark::State& state, const point& p, const std::string& url,
                   std::chrono::seconds duration) {
  const auto wrk = find_wrk();
  if (!wrk) {
    state.SkipWithError("wrk is not installed (apt-get install wrk): no ceiling rows");
    return;
  }
  wrk_result r;
  for (auto _ : state) {
    r = run_wrk(*wrk, url, p.concurrency, duration);
    state.SetIterationTime(r.req_per_s > 0 ? static_cast<double>(p.requests) / r.req_per_s : 0);
  }
  auto& c = state.counters;
  c["req_per_s"] = r.req_per_s;
  c["p50_ms"] = r.p50_ms;
  c["p90_ms"] = r.p90_ms;
  c["p99_ms"] = r.p99_ms;
  c["max_ms"] = r.max_ms;
  c["errors"] = r.errors;
  c["cpu_us_per_req"] = r.requests > 0 ? r.cpu_s * 1e6 / r.requests : 0;
  c["peak_rss_mib"] = r.peak_rss_mib;
  const auto s = read_server_stats(url.substr(0, url.find('/', 7)));
  c["server_max_in_flight"] = s.max_in_flight;
  c["server_late_p99_ms"] = s.late_p99_ms;
  state.SetLabel("wrk -t1 -c" + std::to_string(p.concurrency) + " -d" +
                 std::to_string(duration.count()) +
                 "s: " + std::to_string(static_cast<long>(r.requests)) + " requests");
}

std::chrono::seconds wrk_duration(std::string_view suite) {
  return (suite == "smoke" || suite == "quick") ? std::chrono::seconds{1} : std::chrono::seconds{2};
}

void run_point(benchmark::State& state, const point& p) {
  run_state& run = *g_run;
  const std::string name = benchmark_name(p);
  std::fprintf(stderr, "[%zu/%zu] %s\n", ++run.runs_started, run.total_runs, name.c_str());
  const std::string& base = run.server();
  if (base.empty()) {
    state.SkipWithError(run.server_error.c_str());
    return;
  }
  std::vector<Request> requests;
  requests.reserve(p.requests);
  for (const int d : p.request_delays_ms()) {
    requests.push_back(
        {base + "/fetch?delay=" + std::to_string(d) + "ms&bytes=" + std::to_string(p.bytes)});
  }
  Options o;
  o.concurrency = p.effective_concurrency();
  o.keep_alive = p.keep_alive;
  measured m;
  m.latencies_ms.reserve(p.requests * static_cast<std::size_t>(state.max_iterations));
  const char* step = "setup";
  try {
    reset_server_stats(base);
    step = "the batch";
    if (p.impl == kWrk) {
      run_wrk_point(state, p, requests.front().url, wrk_duration(run.opts.suite));
      return;
    }
    if (is_python_reference(p.impl)) {
      run_python(state, p, requests, o, m);
    } else {
      run_fetcher(state, p, requests, o, m);
    }
    if (state.error_occurred()) return;
    step = "reading the server's /stats";
    fill_counters(state, p, m, base);
  } catch (const std::exception& e) {
    state.SkipWithError((std::string(step) + " failed: " + e.what()).c_str());
  }
}

// Google Benchmark appends "/iterations:N", "/repeats:N" and "/real_time" to a name whenever
// those are set; the contract names (DESIGN.md) have none of that, so reporters clear them.
template <class Base>
class contract_names final : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed(runs);
    for (auto& r : renamed) {
      r.run_name.min_time.clear();
      r.run_name.min_warmup_time.clear();
      r.run_name.iterations.clear();
      r.run_name.repetitions.clear();
      r.run_name.time_type.clear();
    }
    Base::ReportRuns(renamed);
  }
};

std::unique_ptr<benchmark::BenchmarkReporter> make_reporter(std::string_view format, bool display) {
  if (format == "json") return std::make_unique<contract_names<benchmark::JSONReporter>>();
  if (format == "csv") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    return std::make_unique<contract_names<benchmark::CSVReporter>>();
#pragma GCC diagnostic pop
  }
  auto opts = benchmark::ConsoleReporter::OO_Tabular;
  if (display && isatty(STDOUT_FILENO) != 0) {
    opts = static_cast<benchmark::ConsoleReporter::OutputOptions>(
        opts | benchmark::ConsoleReporter::OO_Color);
  }
  return std::make_unique<contract_names<benchmark::ConsoleReporter>>(opts);
}

void add_context(const options& o) {
  utsname u{};
  uname(&u);
  benchmark::AddCustomContext("iobench_suite", o.suite);
  benchmark::AddCustomContext("git_sha", git_sha());
  benchmark::AddCustomContext("build_type", IOBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("boost_version", BOOST_LIB_VERSION);
  benchmark::AddCustomContext("libcurl_version", curl_version_info(CURLVERSION_NOW)->version);
  benchmark::AddCustomContext("kernel", std::string(u.sysname) + " " + u.release);
  benchmark::AddCustomContext("cores", std::to_string(std::thread::hardware_concurrency()));
  std::string server = o.server.empty() ? "own mock_server child" : o.server;
  for (const auto& a : o.server_args) server += " " + a;
  benchmark::AddCustomContext("server", server);
}

}  // namespace

int main(int argc, char** argv) {
  run_state run;
  run.opts = parse_args(argc, argv);
  g_run = &run;
  std::vector<point> points;
  try {
    points = suite_points(run.opts.suite, run.opts.impls);
  } catch (const std::invalid_argument& e) {
    usage_error(e.what());
  }
  run.server_binary = std::filesystem::canonical("/proc/self/exe").parent_path() / "mock_server";
  // Concurrency up to 10,000 needs as many sockets; children (Python references) inherit it.
  raise_open_file_limit();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  int rest_argc = static_cast<int>(run.opts.rest.size());
  benchmark::Initialize(&rest_argc, run.opts.rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, run.opts.rest.data())) return 2;

  const double target = target_seconds(run.opts.suite);
  for (const auto& p : points) {
    const std::string name = benchmark_name(p);
    auto* b =
        benchmark::RegisterBenchmark(name.c_str(), [p](benchmark::State& s) { run_point(s, p); });
    b->Unit(benchmark::kMillisecond);
    if (p.impl == kWrk) {
      b->UseManualTime()->Iterations(1);  // one wrk run of a fixed duration
    } else if (is_python_reference(p.impl)) {
      b->UseManualTime()->Iterations(  // timed inside the child
          static_cast<benchmark::IterationCount>(iterations_for(p, target)));
    } else {
      b->UseRealTime()->Iterations(
          static_cast<benchmark::IterationCount>(iterations_for(p, target)));
    }
    if (p.repetitions > 1) b->Repetitions(p.repetitions);
    // Google Benchmark filters on its own name, suffixes included; count with the same string.
    std::string internal =
        name + "/iterations:" +
        std::to_string(p.impl == kWrk ? 1 : static_cast<long>(iterations_for(p, target)));
    if (p.repetitions > 1) internal += "/repeats:" + std::to_string(p.repetitions);
    internal += (p.impl == kWrk || is_python_reference(p.impl)) ? "/manual_time" : "/real_time";
    if (selected(internal, run.opts.filter))
      run.total_runs += static_cast<std::size_t>(p.repetitions);
  }
  add_context(run.opts);
  const auto display = make_reporter(run.opts.display_format, true);
  const auto file = run.opts.has_out ? make_reporter(run.opts.out_format, false) : nullptr;
  benchmark::RunSpecifiedBenchmarks(display.get(), file.get());
  benchmark::Shutdown();
  run.own_server.reset();
  return 0;
}
