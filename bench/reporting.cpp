#include "reporting.hpp"

#include <curl/curl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/version.hpp>
#include <cstdio>
#include <optional>
#include <thread>
#include <type_traits>

#include "gbench_flags.hpp"
#include "probes.hpp"
#include "suite.hpp"

#ifndef IOBENCH_SOURCE_DIR
#define IOBENCH_SOURCE_DIR "."
#endif
#ifndef IOBENCH_BUILD_TYPE
#define IOBENCH_BUILD_TYPE "unknown"
#endif

namespace iobench::bench {
namespace {

// The message of a run that ended in SkipWithError. Google Benchmark 1.8 replaced
// Run::error_occurred and error_message (1.7 in Debian 12) with skipped and skip_message (1.9 in
// Debian 13); a template, so that only the branch of the installed version is compiled.
template <class Run>
std::optional<std::string> error_of(const Run& r) {
  if constexpr (requires { r.skip_message; }) {
    using skipped = std::remove_cvref_t<decltype(r.skipped)>;
    if (r.skipped == skipped::SkippedWithError) return r.skip_message;
  } else {
    if (r.error_occurred) return r.error_message;
  }
  return std::nullopt;
}

// Google Benchmark appends "/iterations:N", "/repeats:N" and "/real_time" to a name whenever
// those are set; the contract names (docs/results.md) have none of that, so reporters clear them.
// The display reporter also counts the errored runs, for iobench's exit status.
template <class Base>
class contract_names final : public Base {
 public:
  using Base::Base;
  void count_errors_into(std::shared_ptr<run_errors> errors) { errors_ = std::move(errors); }

  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed(runs);
    for (auto& r : renamed) {
      r.run_name.min_time.clear();
      r.run_name.min_warmup_time.clear();
      r.run_name.iterations.clear();
      r.run_name.repetitions.clear();
      r.run_name.time_type.clear();
      const bool iteration = r.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration;
      const auto error = error_of(r);
      if (errors_ && error && iteration && errors_->count++ == 0) {
        errors_->first = r.benchmark_name() + ": " + *error;
      }
    }
    Base::ReportRuns(renamed);
  }

 private:
  std::shared_ptr<run_errors> errors_;
};

template <class Reporter>
std::unique_ptr<benchmark::BenchmarkReporter> counting(std::unique_ptr<Reporter> r,
                                                       std::shared_ptr<run_errors> errors) {
  r->count_errors_into(std::move(errors));
  return r;
}

// `errors`: null for a reporter that must not count (the file reporter sees the same runs).
std::unique_ptr<benchmark::BenchmarkReporter> make_reporter(std::string_view format, bool display,
                                                            std::shared_ptr<run_errors> errors) {
  if (format == "json") {
    return counting(std::make_unique<contract_names<benchmark::JSONReporter>>(), errors);
  }
  if (format == "csv") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    return counting(std::make_unique<contract_names<benchmark::CSVReporter>>(), errors);
#pragma GCC diagnostic pop
  }
  auto opts = benchmark::ConsoleReporter::OO_Tabular;
  if (display && isatty(STDOUT_FILENO) != 0) {
    opts = static_cast<benchmark::ConsoleReporter::OutputOptions>(
        opts | benchmark::ConsoleReporter::OO_Color);
  }
  return counting(std::make_unique<contract_names<benchmark::ConsoleReporter>>(opts), errors);
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
  auto errors = std::make_shared<run_errors>();
  r.errors = errors;
  r.display = make_reporter(benchmark::FLAGS_benchmark_format, true, errors);
  if (!benchmark::FLAGS_benchmark_out.empty()) {
    r.file = make_reporter(benchmark::FLAGS_benchmark_out_format, false, nullptr);
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
                                          {"https", i.info.https},
                                          {"summary", i.info.summary},
                                          {"runtime", i.runtime},
                                          {"library", i.info.library},
                                          {"mechanism", i.info.mechanism},
                                          {"interface", i.info.interface}});
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
