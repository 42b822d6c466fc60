#include "args.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <sstream>

#include "common/cli.hpp"
#include "preflight.hpp"
#include "suite.hpp"

namespace iobench::bench {
namespace {

constexpr std::string_view kUsage =
    R"(usage: iobench [--suite NAME] [--server URL] [--impls a,b] [--reference NAME=COMMAND]...
               [Google Benchmark flags]

Runs the iobench suite: every benchmark fetches one batch per iteration from a mock server and
reports makespan (real_time) and the counters req_per_s, p50_ms, p90_ms, p99_ms, max_ms,
efficiency, cpu_us_per_req, peak_rss_mib, threads, errors, server_max_in_flight,
server_late_p99_ms.

options:
  --suite NAME     )";

constexpr std::string_view kOptions = R"(
  --server URL     use this mock server instead of starting one next to this binary (the
                   /tls:1 rows, which need the suite's own TLS server, are then errored)
  --impls a,b      only these (default: all). The models:
)";

// Indented like the option texts.
constexpr std::string_view kReferences =
    "                   and the references (the Python ones run by /usr/bin/python3):\n";

constexpr std::string_view kTail =
    R"(  --reference NAME=COMMAND
                   add your own client as the reference NAME for this run: COMMAND (split
                   into words as a shell would, nothing substituted) is started as a child
                   that speaks the batch protocol (docs/reference_protocol.md); repeatable.
                   --impls selects it like any other
  --server-args S  extra flags for the mock_server it starts, e.g. "--threads 2" or
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

exit status: 0 every benchmark ran, 1 some benchmark errored (every result is still written),
2 usage error (a --benchmark_filter that selects nothing is one).
)";

constexpr std::size_t kListIndent = 19;

// Appends the whitespace-separated words of `text`.
void append_words(std::vector<std::string>& items, const std::string& text) {
  std::stringstream s(text);
  for (std::string item; s >> item;) items.push_back(item);
}

// Appends the comma-separated names of an --impls list. An empty name is refused rather than
// skipped: "--impls ," would otherwise select nothing, which means everything.
void append_impls(std::vector<std::string>& impls, const std::string& text) {
  std::size_t start = 0;
  for (;;) {
    const auto comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (name.empty()) {
      throw cli::usage_error("--impls: empty name in '" + text + "' (a list like a,b)");
    }
    if (std::find(impls.begin(), impls.end(), name) != impls.end()) {
      throw cli::usage_error("--impls: '" + name + "' named twice");
    }
    impls.push_back(std::move(name));
    if (comma == std::string::npos) return;
    start = comma + 1;
  }
}

// The value of Google Benchmark's `--name=value` in `args` (its only form), the last one winning.
std::optional<std::string> last_flag_value(std::span<const std::string> args,
                                           std::string_view name) {
  std::optional<std::string> value;
  const std::string prefix = "--" + std::string(name) + "=";
  for (const auto& a : args) {
    if (a.starts_with(prefix)) value = a.substr(prefix.size());
  }
  return value;
}

// Parsed the way Google Benchmark parses it (strtol, strtod: the whole text), so that what is
// accepted here is what it would accept.
std::optional<long> parse_long(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<double> parse_double(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return std::nullopt;
  return v;
}

void check_one_of(std::span<const std::string> args, std::string_view name,
                  std::initializer_list<std::string_view> allowed) {
  const auto v = last_flag_value(args, name);
  if (!v || std::find(allowed.begin(), allowed.end(), *v) != allowed.end()) return;
  std::string list;
  for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw cli::usage_error("--" + std::string(name) + ": expected one of " + list + " (got '" + *v +
                         "')");
}

}  // namespace

options parse_args(int argc, char** argv) {
  options o;
  o.benchmark_args.emplace_back(argc > 0 ? argv[0] : "iobench");
  cli::arg_reader args(argc, argv);
  while (args.next()) {
    if (args.is("-h") || args.is("--help")) {
      args.no_value();
      o.help = true;
    } else if (args.is("--suite")) {
      o.suite = args.value();
    } else if (args.is("--server")) {
      o.server = args.value();
      while (!o.server.empty() && o.server.back() == '/') o.server.pop_back();
      check_http_url(o.server, "--server", true);
    } else if (args.is("--server-args")) {
      append_words(o.server_args, args.verbatim_value());
      // Every row's server gets these flags; TLS is the suite's to give (its /tls:1 rows).
      for (const auto& w : o.server_args) {
        for (const std::string_view tls :
             {"--tls", "--cert", "--key", "--cert-out", "--tls-tickets"}) {
          if (w == tls || w.starts_with(std::string(tls) + "=")) {
            throw cli::usage_error("--server-args: " + std::string(tls) +
                                   " is the suite's own: it starts a second mock_server with "
                                   "--tls for the /tls:1 rows (--suite tls)");
          }
        }
      }
    } else if (args.is("--impls")) {
      append_impls(o.impls, args.value());
    } else if (args.is("--reference")) {
      const std::string spec = args.value();
      const auto eq = spec.find('=');
      if (eq == std::string::npos) {
        throw cli::usage_error("--reference: expected NAME=COMMAND (got '" + spec + "')");
      }
      o.references.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
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

void check_benchmark_flags(std::span<const std::string> benchmark_args) {
  const auto args = benchmark_args;
  if (const auto v = last_flag_value(args, "benchmark_repetitions")) {
    const auto n = parse_long(*v);
    if (!n || *n < 1 || *n > kMaxRepetitions) {
      throw cli::usage_error("--benchmark_repetitions: expected an integer in 1.." +
                             std::to_string(kMaxRepetitions) + " (got '" + *v + "')");
    }
  }
  for (const std::string_view name : {"benchmark_min_time", "benchmark_min_warmup_time"}) {
    const auto v = last_flag_value(args, name);
    if (!v) continue;
    const auto seconds = parse_double(*v);
    if (!seconds || !std::isfinite(*seconds) || *seconds < 0) {
      throw cli::usage_error("--" + std::string(name) +
                             ": expected seconds, a finite number >= 0 (got '" + *v + "')");
    }
  }
  check_one_of(args, "benchmark_format", {"console", "json", "csv"});
  check_one_of(args, "benchmark_out_format", {"json", "console", "csv"});
  check_one_of(args, "benchmark_time_unit", {"ns", "us", "ms", "s"});
  if (const auto v = last_flag_value(args, "benchmark_color"); v && v->empty()) {
    throw cli::usage_error("--benchmark_color: expected auto, true or false (got '')");
  }
}

benchmark_filter::benchmark_filter(const std::string& spec) {
  if (spec.empty() || spec == "all") return;
  negate_ = spec.front() == '-';
  const std::string pattern = negate_ ? spec.substr(1) : spec;
  try {
    re_.emplace(pattern, std::regex::extended);
  } catch (const std::regex_error& e) {
    throw cli::usage_error("--benchmark_filter: '" + spec +
                           "' is not a POSIX extended regular expression: " + e.what());
  }
}

bool benchmark_filter::selects(const std::string& name) const {
  if (!re_) return true;
  return std::regex_search(name, *re_) != negate_;
}

}  // namespace iobench::bench
