// wrk, the zero-delay ceiling: finding it, running it, reading its --latency report.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "probes.hpp"
#include "reference.hpp"
#include "spawn.hpp"

namespace iobench::bench {
namespace {

// wrk prints durations as 736.00us, 1.25ms, 2.01s, 1.00m.
double to_ms(double value, std::string_view unit) {
  if (unit == "us") return value / 1000;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60000;
  return value;
}

}  // namespace

std::optional<std::filesystem::path> find_wrk() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir) / "wrk";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

wrk_result parse_wrk_output(std::string_view text) {
  const std::string t(text);
  wrk_result r;
  std::smatch m;
  static const std::regex kTotal(R"((\d+) requests in ([\d.]+)(us|ms|s|m))");
  static const std::regex kRps(R"(Requests/sec:\s+([\d.]+))");
  static const std::regex kMax(R"(Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m))");
  static const std::regex kNon2xx(R"(Non-2xx or 3xx responses:\s+(\d+))");
  static const std::regex kSocket(
      R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))");
  if (!std::regex_search(t, m, kTotal)) {
    throw std::runtime_error("no result in wrk's output: " + t.substr(0, 500));
  }
  r.requests = std::stod(m[1]);
  r.seconds = to_ms(std::stod(m[2]), m[3].str()) / 1000;
  if (!std::regex_search(t, m, kRps)) {
    throw std::runtime_error("no Requests/sec in wrk's output: " + t.substr(0, 500));
  }
  r.req_per_s = std::stod(m[1]);
  if (std::regex_search(t, m, kMax)) r.max_ms = to_ms(std::stod(m[1]), m[2].str());
  for (auto [pct, field] :
       {std::pair{"50", &wrk_result::p50_ms}, std::pair{"90", &wrk_result::p90_ms},
        std::pair{"99", &wrk_result::p99_ms}}) {
    const std::regex line(std::string(R"(\n\s*)") + pct + R"(%\s+([\d.]+)(us|ms|s|m))");
    if (!std::regex_search(t, m, line)) {
      throw std::runtime_error(std::string("no ") + pct + "% latency in wrk's output (--latency?)");
    }
    r.*field = to_ms(std::stod(m[1]), m[2].str());
  }
  if (std::regex_search(t, m, kNon2xx)) r.errors += std::stod(m[1]);
  if (std::regex_search(t, m, kSocket)) {
    for (int i = 1; i <= 4; ++i) r.errors += std::stod(m[i]);
  }
  return r;
}

wrk_result run_wrk(const std::filesystem::path& wrk, const std::string& url, std::size_t threads,
                   std::size_t connections, std::chrono::seconds duration) {
  spawn_options o;
  o.argv = {wrk.string(),
            "-t" + std::to_string(threads),
            "-c" + std::to_string(connections),
            "-d" + std::to_string(duration.count()) + "s",
            "--latency",
            url};
  o.pipe_stdout = true;
  o.stderr_to_stdout = true;
  const child_process child = spawn_child(o);
  std::string text;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(child.stdout_fd, buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(child.stdout_fd);
  int status = 0;
  rusage usage{};
  ::wait4(child.pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("wrk failed: " + text.substr(0, 500));
  }
  wrk_result r = parse_wrk_output(text);
  r.cpu_s = cpu_seconds(usage);
  const auto csw = csw_of(usage);
  r.vol_csw = csw.voluntary;
  r.invol_csw = csw.involuntary;
  r.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024;
  return r;
}

}  // namespace iobench::bench
