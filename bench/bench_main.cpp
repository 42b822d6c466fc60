// build/bin/iobench: the Google Benchmark suite. One iteration is one fetch_all batch, timed on
// the wall clock. Google Benchmark's statistics are across repetitions, so per-request latency
// percentiles are recorded here, over every request of every iteration (runners.cpp).
#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "args.hpp"
#include "common/cli.hpp"
#include "common/open_files.hpp"
#include "cpus.hpp"
#include "gbench_flags.hpp"
#include "open_points.hpp"
#include "reference.hpp"
#include "reporting.hpp"
#include "runners.hpp"
#include "server_process.hpp"
#include "server_watch.hpp"
#include "suite.hpp"

namespace {

using namespace iobench;
using namespace iobench::bench;

constexpr double kMaxIterations = 100;
// Rough cost of a request when nothing waits (for choosing iteration counts only).
constexpr double kZeroDelayRequestS = 1.0 / 25000;
constexpr double kConnectionSetupS = 60e-6;
constexpr double kPythonRequestS = 1.0 / 3000;
// A TLS handshake per request (a /close/tls:1 row): client and server CPU of one, resumed.
constexpr double kTlsHandshakeS = 1e-3;

double target_seconds(std::string_view suite) {
  if (suite == "smoke") return 0;
  if (suite == "quick") return 0.3;
  if (suite == "seed") return 3;
  // The default suite keeps under 5 minutes with every model (suite_points.cpp).
  if (suite == "default") return 0.3;
  if (suite == "ci") return 0.4;
  return 0.6;
}

double iterations_for(const point& p, double target_s) {
  const double setup = kConnectionSetupS * static_cast<double>(p.effective_concurrency());
  const double per_request =
      (kind_of(p) == row_kind::child ? kPythonRequestS : kZeroDelayRequestS) +
      (p.tls && !p.keep_alive ? kTlsHandshakeS : 0);
  const double expected =
      std::max(ideal_makespan_s(p), per_request * static_cast<double>(p.requests)) + setup;
  return std::clamp(std::round(target_s / expected), 1.0, kMaxIterations);
}

std::chrono::seconds wrk_duration(std::string_view suite) {
  return (suite == "smoke" || suite == "quick") ? std::chrono::seconds{1} : std::chrono::seconds{2};
}

// Everything the benchmarks of one run share: the server (started before the first) and the
// progress count.
class suite_run {
 public:
  suite_run(options opts, std::filesystem::path server_binary, partition cpus)
      : opts_(std::move(opts)), server_binary_(std::move(server_binary)), cpus_(std::move(cpus)) {}

  /// Counts `n` benchmark runs into the "[k/n]" progress lines.
  void expect(std::size_t n) { total_runs_ += n; }

  /// Starts the own mock_server now (unless --server names one), so that one that cannot start
  /// ends the run before any benchmark. Throws server_usage_error or std::runtime_error.
  void start_server();

  void run_point(benchmark::State& state, const point& p);

  /// The server's base URL ("" when it could not be reached: benchmarks say why).
  const std::string& base_url() { return server(); }

  /// Starts (or reaches) the server now and says where everything runs, for the context.
  run_placement where_it_runs();

  /// Bumped as requests finish, to tell the server's watch that it is alive (null before the
  /// server is reached).
  std::atomic<std::size_t>* progress() { return watch_ ? watch_->progress() : nullptr; }

 private:
  const std::string& server();
  // The https server of the /tls:1 rows, a second mock_server started with --tls for the first
  // of them (on the server's CPUs, with --server-args), and watched as the first is: its base
  // URL, or "" with tls_error_ saying why there is none.
  const std::string& tls_server();

  options opts_;
  std::filesystem::path server_binary_;
  partition cpus_;
  std::unique_ptr<server_process> own_server_;
  std::unique_ptr<server_watch> watch_;  ///< declared after own_server_: stops watching first
  std::string server_url_;
  std::string server_error_;
  std::unique_ptr<server_process> tls_server_;
  std::unique_ptr<server_watch> tls_watch_;  ///< after tls_server_: stops watching first
  std::string tls_url_;
  std::string tls_error_;
  std::size_t total_runs_ = 0;
  std::size_t runs_started_ = 0;
};

void suite_run::start_server() {
  if (opts_.server.empty() && !own_server_) {
    own_server_ = std::make_unique<server_process>(server_binary_, opts_.server_args, cpus_.server);
    server_url_ = own_server_->url();
    std::cerr << "iobench: started mock_server at " << server_url_ << "\n";
  }
}

const std::string& suite_run::server() {
  if (server_url_.empty() && server_error_.empty()) {
    if (!opts_.server.empty()) {
      server_url_ = opts_.server;
    } else {
      try {
        start_server();
      } catch (const std::exception& e) {
        server_error_ = std::string("cannot start mock_server: ") + e.what();
      }
    }
  }
  if (!watch_ && !server_url_.empty()) {
    watch_ = std::make_unique<server_watch>(server_url_, own_server_.get());
  }
  return server_url_;
}

const std::string& suite_run::tls_server() {
  if (tls_url_.empty() && tls_error_.empty()) {
    if (!opts_.server.empty()) {
      tls_error_ =
          "not run: a /tls:1 row needs the suite's own mock_server, started with --tls; "
          "--server names another";
    } else {
      try {
        tls_server_ =
            std::make_unique<server_process>(server_binary_, opts_.server_args, cpus_.server, true);
        tls_url_ = tls_server_->url();
        std::cerr << "iobench: started mock_server --tls at " << tls_url_ << "\n";
        tls_watch_ = std::make_unique<server_watch>(tls_url_, tls_server_.get());
      } catch (const std::exception& e) {
        tls_error_ = std::string("cannot start mock_server --tls: ") + e.what();
      }
    }
  }
  return tls_url_;
}

run_placement suite_run::where_it_runs() {
  const std::string all = "all (not pinned)";
  run_placement where;
  where.client_cpus = cpus_.client.empty() ? all : format_cpu_list(cpus_.client);
  if (opts_.server.empty()) {
    where.server_cpus = cpus_.server.empty() ? all : format_cpu_list(cpus_.server);
  }
  where.note = cpus_.note;
  if (const auto& base = server(); !base.empty()) {
    try {
      const auto s = read_server_stats(base);
      if (s.threads > 0) where.server_threads = std::to_string(static_cast<long>(s.threads));
    } catch (const std::exception&) {
      // An older or unreachable server: the benchmarks will say what is wrong.
    }
  }
  return where;
}

void suite_run::run_point(benchmark::State& state, const point& p) {
  const std::string name = benchmark_name(p);
  std::fprintf(stderr, "[%zu/%zu] %s\n", ++runs_started_, total_runs_, name.c_str());
  if (server().empty()) {
    skip_run(state, server_error_);
    return;
  }
  const std::string& base = p.tls ? tls_server() : server();
  if (base.empty()) {
    skip_run(state, tls_error_);
    return;
  }
  server_watch* const watch = p.tls ? tls_watch_.get() : watch_.get();
  if (!p.error.empty()) {
    const auto why = watch->gone();
    skip_run(state, p.error + (why.empty() ? "" : "; " + why));
    return;
  }
  // Once the server is gone, the rest of the run is errored at once, each with why.
  if (const auto why = watch->gone(); !why.empty()) {
    skip_run(state, "not run: " + why);
    return;
  }
  std::vector<Request> requests;
  requests.reserve(p.open_loop() ? 0 : p.requests);
  for (const int d : p.open_loop() ? std::vector<int>{} : p.request_delays_ms()) {
    requests.push_back(
        {base + "/fetch?delay=" + std::to_string(d) + "ms&bytes=" + std::to_string(p.bytes)});
  }
  Options o;
  o.concurrency = p.effective_concurrency();
  o.keep_alive = p.keep_alive;
  o.work = std::chrono::microseconds{p.work_us};
  o.block = std::chrono::microseconds{p.block_us};
  if (p.tls) o.cacert = tls_server_->cacert();
  o.completed = watch->progress();
  measured m;
  m.own_threads = server_watch::threads() * (tls_watch_ ? 2 : 1);
  m.latencies_ms.reserve(p.requests * static_cast<std::size_t>(state.max_iterations));
  const char* step = "setup";
  try {
    reset_server_stats(base);
    placement where{
        base, read_server_stats(base),
        static_cast<double>(cpus_.client.empty() ? allowed_cpus().size() : cpus_.client.size())};
    where.progress = watch->progress();
    step = kind_of(p) == row_kind::open_loop ? "the open-loop step" : "the batch";
    run_row(state, {p, requests, o, where, wrk_duration(opts_.suite)}, m);
  } catch (const std::exception& e) {
    // A request failed because the server went away says only "refused" or "timed out": say why.
    const auto why = watch->check_now();
    skip_run(state, std::string(step) + " failed: " + (why.empty() ? "" : why + "; ") + e.what());
  }
}

// Registers the point; returns the name Google Benchmark filters on (its suffixes included).
// How a point runs under Google Benchmark: iterations, and whose clock.
struct timing {
  benchmark::IterationCount iterations;
  bool manual;  // timed by wrk or inside the Python child
};

timing timing_of(const point& p, double target_s) {
  const row_kind kind = kind_of(p);
  return {single_iteration(kind)
              ? 1
              : static_cast<benchmark::IterationCount>(iterations_for(p, target_s)),
          timed_by_row(kind)};
}

// The name Google Benchmark filters on: the contract name and its suffixes.
std::string internal_name(const point& p, double target_s) {
  const auto t = timing_of(p, target_s);
  std::string internal = benchmark_name(p) + "/iterations:" + std::to_string(t.iterations);
  if (p.repetitions > 1) internal += "/repeats:" + std::to_string(p.repetitions);
  return internal + (t.manual ? "/manual_time" : "/real_time");
}

// Registers the point; returns the name Google Benchmark filters on.
std::string register_point(suite_run& run, const point& p, double target_s) {
  const std::string name = benchmark_name(p);
  auto* b = benchmark::RegisterBenchmark(name.c_str(),
                                         [&run, p](benchmark::State& s) { run.run_point(s, p); });
  b->Unit(benchmark::kMillisecond);
  const auto t = timing_of(p, target_s);
  if (t.manual) {
    b->UseManualTime()->Iterations(t.iterations);
  } else {
    b->UseRealTime()->Iterations(t.iterations);
  }
  if (p.repetitions > 1) b->Repetitions(p.repetitions);
  return internal_name(p, target_s);
}

// --benchmark_list_tests prints names and runs nothing: no server to start for it.
bool listing_only(const options& o) {
  return std::any_of(o.benchmark_args.begin(), o.benchmark_args.end(), [](const std::string& a) {
    return a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true" ||
           a == "--benchmark_list_tests=1";
  });
}

int usage_error(const std::string& msg) {
  std::cerr << "iobench: " << msg << " (see --help)\n";
  return cli::kUsageExit;
}

// Google Benchmark opens --benchmark_out only once the run starts, and then says no more than
// "invalid file name" and exits 1. Trying first gives the reason, before anything has run.
// (Creating the file is harmless: Google Benchmark truncates it anyway.)
void check_output_file(const std::string& path) {
  if (path.empty()) return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw cli::usage_error("--benchmark_out: cannot write '" + path + "': " + std::strerror(errno));
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  std::vector<point> points;
  try {
    opts = parse_args(argc, argv);
    references();  // reads the manifests: a bad one is named here, before anything runs
    for (const auto& [name, command] : opts.references) {
      try {
        add_reference(name, command);
      } catch (const std::invalid_argument& e) {
        throw cli::usage_error(std::string("--reference: ") + e.what());
      }
    }
    if (opts.help) {
      std::cout << help_text();
      return 0;
    }
    check_benchmark_flags(opts.benchmark_args);
    // A model this machine refuses (uring where io_uring is off), or a reference whose runtime
    // is missing, is skipped with one line each, not failed; when it was all that --impls
    // named, there is nothing to run.
    std::vector<std::string> impls = opts.impls.empty() ? all_impl_names() : opts.impls;
    std::erase_if(impls, [](const std::string& name) {
      std::string why = model_unavailable(name);
      if (why.empty()) why = reference_unavailable(name);
      if (!why.empty()) std::cerr << "iobench: " << name << " skipped: " << why << "\n";
      return !why.empty();
    });
    if (impls.empty()) return 0;
    points = suite_points(opts.suite, impls);
    if (points.empty()) {
      throw cli::usage_error("suite '" + opts.suite + "' has no benchmark for these --impls");
    }
  } catch (const cli::usage_error& e) {
    return usage_error(e.what());
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  // The client side runs on its CPUs from here on: threads and children created later inherit it.
  partition cpus;
  try {
    cpus = plan_partition(allowed_cpus(), opts.server_cpus, opts.client_cpus, opts.no_pin,
                          opts.server.empty());
    if (!cpus.client.empty()) pin_to(cpus.client);
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    std::cerr << "iobench: " << e.what() << "\n";
    return 1;
  }
  if (!cpus.note.empty()) std::cerr << "iobench: " << cpus.note << "\n";
  // Concurrency up to 10,000 needs as many sockets; children (Python references) inherit it.
  raise_open_file_limit();
  curl_global_init(CURL_GLOBAL_DEFAULT);

  std::vector<char*> benchmark_argv;
  for (auto& a : opts.benchmark_args) benchmark_argv.push_back(a.data());
  int benchmark_argc = static_cast<int>(benchmark_argv.size());
  benchmark::Initialize(&benchmark_argc, benchmark_argv.data());
  if (benchmark::ReportUnrecognizedArguments(benchmark_argc, benchmark_argv.data())) return 2;

  // The suite starts the mock_server that sits next to this binary.
  suite_run run(opts, std::filesystem::canonical("/proc/self/exe").parent_path() / "mock_server",
                cpus);
  const double target = target_seconds(opts.suite);
  std::optional<benchmark_filter> filter;
  try {
    filter.emplace(benchmark::GetBenchmarkFilter());
    // Google Benchmark would print "Failed to match any benchmarks" and exit 0: a run that
    // measured nothing must not look like one that passed. (Open points are named by the share
    // of the capacity they offer until it is measured: "rate:0.5x".)
    if (std::none_of(points.begin(), points.end(),
                     [&](const point& p) { return filter->selects(internal_name(p, target)); })) {
      throw cli::usage_error("--benchmark_filter '" + benchmark::GetBenchmarkFilter() +
                             "' selects none of the " + std::to_string(points.size()) +
                             " benchmarks of suite '" + opts.suite +
                             "' (list them with --benchmark_list_tests)");
    }
    if (!benchmark::FLAGS_benchmark_list_tests) check_output_file(benchmark::FLAGS_benchmark_out);
  } catch (const cli::usage_error& e) {
    return usage_error(e.what());
  }
  // The filter chooses by the names the points have now: an open point's name changes from its
  // share of the capacity ("rate:0.5x") to its real rate when calibrated, and a filter written
  // for the first must still choose it after.
  std::vector<bool> chosen;
  for (const auto& p : points) chosen.push_back(filter->selects(internal_name(p, target)));
  if (!benchmark::FLAGS_benchmark_list_tests) {
    try {
      run.start_server();
    } catch (const server_usage_error& e) {
      // Its line already says "(see --help)", meaning mock_server's.
      std::cerr << "iobench: --server-args: " << e.what() << "\n";
      return cli::kUsageExit;
    } catch (const std::exception& e) {
      std::cerr << "iobench: cannot start mock_server: " << e.what() << "\n";
      return 1;
    }
    try {
      // Open-loop points offer a share of their model's measured capacity: measure it now, for
      // the points the filter keeps, so that they are registered under their real rates.
      const std::string base = run.base_url();  // reaches the server and starts its watch
      calibrate_open_points(
          points, base, [&](const point& p) { return chosen[&p - points.data()]; }, run.progress());
    } catch (const std::exception& e) {
      std::cerr << "iobench: open loop: " << e.what() << "\n";
      return 1;
    }
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!chosen[i]) continue;
    const auto& p = points[i];
    register_point(run, p, target);
    // A point's own repetitions win over the flag (Google Benchmark's rule).
    run.expect(static_cast<std::size_t>(
        p.repetitions > 1 ? p.repetitions : std::max(1, benchmark::FLAGS_benchmark_repetitions)));
  }
  add_context(opts, listing_only(opts) ? run_placement{} : run.where_it_runs());
  const auto out = make_reporters();
  // Only the chosen points are registered, so Google Benchmark runs all of them ("all"): its
  // own filter would match the calibrated names against a pattern written for the others.
  benchmark::RunSpecifiedBenchmarks(out.display.get(), out.file.get(), "all");
  benchmark::Shutdown();
  // Every result is written; the status says whether they are all measurements.
  if (out.errors->count > 0) {
    std::cerr << "iobench: " << out.errors->count << " benchmark run"
              << (out.errors->count == 1 ? "" : "s") << " errored; the first, " << out.errors->first
              << "\n";
    return 1;
  }
  return 0;
}
