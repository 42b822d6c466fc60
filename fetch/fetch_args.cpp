#include "fetch_args.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <vector>

#include "common/cli.hpp"
#include "preflight.hpp"

namespace iobench::fetch {
namespace {

using namespace iobench::bench;

constexpr std::string_view kUsage = R"(usage: iobench-fetch [options] URL
       iobench-fetch --rate R --duration D [options] URL

Fetches URL N times with one I/O model and prints a summary like hey's (closed loop: the next
request starts when one of C finishes). With --rate, an open loop instead: requests go out on a
schedule of R per second for D whatever the earlier ones are doing, at most C in flight (the rest
wait their turn, nothing is dropped), and latency is measured from each request's intended send
time, so a slow server shows in it (no coordinated omission).

options:
  --impl NAME          the model (default coroutine):
)";

constexpr std::string_view kOptions = R"(  -n N                 number of requests (default 1)
  -c C                 requests in flight at most (default 1; a model that runs one request at
                       a time always uses 1)
  --timeout D          total timeout per request (default 30s)
  --connect-timeout D  connection setup timeout (default 5s)
  --no-keepalive       a new connection per request
  --cacert FILE        https: trust the certificate authorities in FILE (PEM) instead of the
                       system's, e.g. the one mock_server --tls --cert-out writes
  --insecure           https: do not verify the server's certificate or name
  --work D             CPU work after each complete response, on the thread that received it
                       (a calibrated hash; e.g. 200us): on an event loop it holds up the rest
  --block D            a blocking sleep after each complete response, on that thread (a
                       synchronous call inside the model's loop or worker; e.g. 2ms)
  --json               print one JSON object instead of the summary
  --rate R             open loop: R requests per second (a number > 0)
  --duration D         open loop: for how long (e.g. 10s)
  --arrival KIND       open loop: constant (every 1/R) or poisson (exponential gaps with mean
                       1/R, from --seed); default constant
  --seed N             open loop: seed of the poisson arrivals (default 1)
  --grace D            open loop: how long requests still in flight may finish after the
                       schedule ends (default 5s); what is left then is counted incomplete
  --hgrm FILE          open loop: write the corrected latency distribution (ms) to FILE in
                       HdrHistogram's percentile-distribution format
  -h, --help           this text

exit status: 0 every request succeeded (complete response, 2xx), 1 some failed, 2 usage error
(or a batch this machine cannot give: too many threads, descriptors or too much memory), 130
interrupted: Ctrl-C prints the summary of the requests that finished.
)";

constexpr std::size_t kModelIndent = 23;

std::string help_text() {
  std::vector<cli::help_row> rows;
  for (const auto& m : models()) rows.push_back({m.name, m.summary});
  return std::string(kUsage) + cli::format_help_rows(rows, kModelIndent) + std::string(kOptions);
}

// An open-loop flag read into `step` (created on first use); --rate and --duration must come
// together, which parse_args checks at the end.
bool read_open_flag(cli::arg_reader& args, std::optional<open_step>& step, std::string& hgrm,
                    bool& rate_given, bool& duration_given) {
  if (args.is("--hgrm")) {
    hgrm = args.value();
    if (hgrm.empty()) throw cli::usage_error("--hgrm: expected a file name (got '')");
    return true;
  }
  if (!args.is("--rate") && !args.is("--duration") && !args.is("--arrival") && !args.is("--seed") &&
      !args.is("--grace")) {
    return false;
  }
  auto& s = step ? *step : step.emplace();
  if (args.is("--rate")) {
    const std::string text = args.value();
    double r = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), r);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(r > 0) ||
        !std::isfinite(r) || r > 10'000'000) {
      throw cli::usage_error("--rate: expected requests per second, a number in (0, 1e7] (got '" +
                             text + "')");
    }
    s.rate = r;
    rate_given = true;
  } else if (args.is("--duration")) {
    s.duration = args.duration();
    if (s.duration.count() <= 0) throw cli::usage_error("--duration: must be more than 0");
    duration_given = true;
  } else if (args.is("--arrival")) {
    const std::string kind = args.value();
    if (kind != "constant" && kind != "poisson") {
      throw cli::usage_error("--arrival: expected constant or poisson (got '" + kind + "')");
    }
    s.kind = kind == "poisson" ? arrival::poisson : arrival::constant;
  } else if (args.is("--seed")) {
    s.seed = args.u64();
  } else {
    s.grace = args.duration();
  }
  return true;
}

// The open-loop flags hang together: --rate with --duration, the rest only with them, no -n.
void check_open(options& o, bool rate_given, bool duration_given) {
  if (!rate_given && !duration_given) {
    if (o.open || !o.hgrm.empty()) {
      throw cli::usage_error("--arrival, --seed, --grace and --hgrm need --rate and --duration");
    }
    return;
  }
  if (!rate_given) throw cli::usage_error("--duration needs --rate (an open loop)");
  if (!duration_given) throw cli::usage_error("--rate needs --duration (an open loop)");
  if (o.requests_given) {
    throw cli::usage_error("-n: with --rate the schedule decides how many (rate x duration)");
  }
  const double n =
      std::ceil(o.open->rate * std::chrono::duration<double>(o.open->duration).count());
  if (n > static_cast<double>(kMaxRequests)) {
    throw cli::usage_error("--rate x --duration schedules more than " +
                           std::to_string(kMaxRequests) + " requests");
  }
  o.requests = static_cast<std::size_t>(n);
  if (!o.hgrm.empty() && !std::ofstream(o.hgrm, std::ios::app)) {
    throw cli::usage_error("--hgrm: cannot write '" + o.hgrm + "'");
  }
}

}  // namespace

options parse_args(int argc, char** argv) {
  options o;
  bool rate_given = false;
  bool duration_given = false;
  cli::arg_reader args(argc, argv);
  while (args.next()) {
    if (read_open_flag(args, o.open, o.hgrm, rate_given, duration_given)) {
      continue;
    } else if (args.is("-h") || args.is("--help")) {
      args.no_value();
      std::cout << help_text();
      std::exit(0);
    } else if (args.is("--impl")) {
      o.impl = args.value();
    } else if (args.is("-n")) {
      o.requests = args.u64(1, kMaxRequests);
      o.requests_given = true;
    } else if (args.is("-c")) {
      o.fetch.concurrency = args.u64(1, 1'000'000);
    } else if (args.is("--timeout")) {
      o.fetch.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(args.duration());
    } else if (args.is("--connect-timeout")) {
      o.fetch.connect_timeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(args.duration());
    } else if (args.is("--work")) {
      o.fetch.work = args.duration();
    } else if (args.is("--block")) {
      o.fetch.block = args.duration();
    } else if (args.is("--no-keepalive")) {
      args.no_value();
      o.fetch.keep_alive = false;
    } else if (args.is("--cacert")) {
      o.fetch.cacert = args.value();
      if (o.fetch.cacert.empty()) throw cli::usage_error("--cacert: expected a file name (got '')");
    } else if (args.is("--insecure")) {
      args.no_value();
      o.fetch.insecure = true;
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
  check_http_url(o.url, "URL", false, true);
  const model_info* model = find_model(o.impl);
  if (model == nullptr) {
    std::string known;
    for (auto n : fetcher_names()) known += (known.empty() ? "" : ", ") + std::string(n);
    throw cli::usage_error("--impl: unknown '" + o.impl + "'; known: " + known);
  }
  const bool https = boost::urls::parse_uri(o.url)->scheme_id() == boost::urls::scheme::https;
  if (https && !model->https) {
    std::string speak;
    for (const auto& m : models()) {
      if (m.https) speak += (speak.empty() ? "" : ", ") + std::string(m.name);
    }
    throw cli::usage_error("--impl " + o.impl + " does not speak https; these do: " + speak);
  }
  if (!https && (!o.fetch.cacert.empty() || o.fetch.insecure)) {
    throw cli::usage_error("--cacert and --insecure are for an https:// URL");
  }
  if (!o.fetch.cacert.empty() && !std::ifstream(o.fetch.cacert)) {
    throw cli::usage_error("--cacert: cannot read '" + o.fetch.cacert + "'");
  }
  if (o.fetch.timeout.count() <= 0 || o.fetch.connect_timeout.count() <= 0) {
    throw cli::usage_error("timeouts must be at least 1ms");
  }
  check_open(o, rate_given, duration_given);
  return o;
}

}  // namespace iobench::fetch
