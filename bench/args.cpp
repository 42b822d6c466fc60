#include "args.hpp"

#include <regex>
#include <sstream>

#include "common/cli.hpp"
#include "suite.hpp"

namespace iobench::bench {
namespace {

constexpr std::string_view kUsage =
    R"(usage: iobench [--suite NAME] [--server URL] [--impls a,b] [Google Benchmark flags]

Runs the iobench suite: every benchmark fetches one batch per iteration from a mock server and
reports makespan (real_time) and the counters req_per_s, p50_ms, p90_ms, p99_ms, max_ms,
efficiency, cpu_us_per_req, peak_rss_mib, threads, errors, server_max_in_flight,
server_late_p99_ms.

options:
  --suite NAME     )";

constexpr std::string_view kOptions = R"(
  --server URL     use this mock server instead of starting one next to this binary
  --impls a,b      only these (default: all). The models:
)";

// Indented like the option texts.
constexpr std::string_view kReferences =
    "                   and the references (the Python ones run by /usr/bin/python3):\n";

constexpr std::string_view kTail =
    R"(  --server-args S  extra flags for the mock_server it starts, e.g. "--threads 2" or
                   "--extra-delay 2ms" (a uniformly slower network)
  --server-cpus L  CPUs for the mock_server it starts (cpu-list syntax: 0-3,8); it runs one
                   event loop per CPU it is given. Default: the first half of the CPUs this
                   process may use (at least one)
  --client-cpus L  CPUs for the models, wrk and the Python references. Default: the rest (all
                   of them with --server)
  --no-pin         run client and server wherever the kernel puts them
  -h, --help       this text

Google Benchmark's own flags work as usual, e.g. --benchmark_filter=coroutine,
--benchmark_out=results.json --benchmark_out_format=json, --benchmark_repetitions=3,
--benchmark_list_tests.
)";

constexpr std::size_t kListIndent = 19;

// Appends the non-empty items of `text` separated by `sep` (any whitespace when sep is ' ').
void append_split(std::vector<std::string>& items, const std::string& text, char sep) {
  std::stringstream s(text);
  if (sep == ' ') {
    for (std::string item; s >> item;) items.push_back(item);
    return;
  }
  for (std::string item; std::getline(s, item, sep);) {
    if (!item.empty()) items.push_back(item);
  }
}

}  // namespace

options parse_args(int argc, char** argv) {
  options o;
  o.benchmark_args.emplace_back(argc > 0 ? argv[0] : "iobench");
  cli::arg_reader args(argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      o.help = true;
    } else if (args.is("--suite")) {
      o.suite = args.value();
    } else if (args.is("--server")) {
      o.server = args.value();
      while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
    } else if (args.is("--server-args")) {
      append_split(o.server_args, args.value(), ' ');
    } else if (args.is("--impls")) {
      append_split(o.impls, args.value(), ',');
    } else if (args.is("--server-cpus") || args.is("--client-cpus")) {
      const bool server = args.is("--server-cpus");
      const std::string flag(server ? "--server-cpus" : "--client-cpus");
      try {
        (server ? o.server_cpus : o.client_cpus) = parse_cpu_list(args.value());
      } catch (const std::invalid_argument& e) {
        throw cli::usage_error(flag + ": " + e.what());
      }
    } else if (args.is("--no-pin")) {
      args.no_value();
      o.no_pin = true;
    } else {
      o.benchmark_args.emplace_back(args.current());
    }
  }
  return o;
}

std::string help_text() {
  std::vector<cli::help_row> models;
  std::vector<cli::help_row> references;
  for (const auto& i : all_impls()) {
    (i.reference ? references : models).push_back({i.info.name, i.info.summary});
  }
  std::string suites;
  for (const auto s : suite_names()) suites += (suites.empty() ? "" : ", ") + std::string(s);
  std::string text(kUsage);
  text += suites + " (default: default)";
  text += kOptions;
  text += cli::format_help_rows(models, kListIndent);
  text += kReferences;
  text += cli::format_help_rows(references, kListIndent);
  text += kTail;
  return text;
}

bool filter_selects(const std::string& name, const std::string& filter) {
  if (filter.empty() || filter == "all" || filter == ".") return true;
  const bool negate = filter.front() == '-';
  const std::regex re(negate ? filter.substr(1) : filter, std::regex::extended);
  return std::regex_search(name, re) != negate;
}

}  // namespace iobench::bench
