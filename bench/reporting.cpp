#include "reporting.hpp"

#include <curl/curl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/version.hpp>
#include <cstdio>
#include <thread>

#include "probes.hpp"
#include "suite.hpp"

#ifndef IOBENCH_SOURCE_DIR
#define IOBENCH_SOURCE_DIR "."
#endif
#ifndef IOBENCH_BUILD_TYPE
#define IOBENCH_BUILD_TYPE "unknown"
#endif

// Google Benchmark parses these flags in Initialize and exports them (as its own
// src/commandlineflags.h declares them), but 1.7.1 has a getter for the filter only. Reading its
// values, rather than argv again, keeps its rules (environment variables included).
namespace benchmark {
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_format;
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_out;
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_out_format;
}  // namespace benchmark

namespace iobench::bench {
namespace {

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

}  // namespace

reporters make_reporters() {
  reporters r;
  r.display = make_reporter(benchmark::FLAGS_benchmark_format, true);
  if (!benchmark::FLAGS_benchmark_out.empty()) {
    r.file = make_reporter(benchmark::FLAGS_benchmark_out_format, false);
  }
  return r;
}

std::string models_json() {
  boost::json::array rows;
  for (const auto& i : all_impls()) {
    rows.emplace_back(boost::json::object{{"name", i.info.name},
                                          {"kind", i.reference ? "reference" : "model"},
                                          {"one_at_a_time", i.info.one_at_a_time},
                                          {"baseline", i.info.baseline},
                                          {"summary", i.info.summary}});
  }
  return boost::json::serialize(rows);
}

void add_context(const options& o, const run_placement& where) {
  utsname u{};
  uname(&u);
  benchmark::AddCustomContext("iobench_suite", o.suite);
  benchmark::AddCustomContext("git_sha", git_sha());
  benchmark::AddCustomContext("build_type", IOBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("boost_version", BOOST_LIB_VERSION);
  benchmark::AddCustomContext("libcurl_version", curl_version_info(CURLVERSION_NOW)->version);
  benchmark::AddCustomContext("kernel", std::string(u.sysname) + " " + u.release);
  benchmark::AddCustomContext("cores", std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("cpu_model", cpu_model());
  std::string server = o.server.empty() ? "own mock_server child" : o.server;
  for (const auto& a : o.server_args) server += " " + a;
  benchmark::AddCustomContext("server", server);
  benchmark::AddCustomContext("server_cpus", where.server_cpus);
  benchmark::AddCustomContext("client_cpus", where.client_cpus);
  benchmark::AddCustomContext("server_threads", where.server_threads);
  if (!where.note.empty()) benchmark::AddCustomContext("pinning", where.note);
  benchmark::AddCustomContext("models", models_json());
}

}  // namespace iobench::bench
