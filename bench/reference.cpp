#include "reference.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "server_process.hpp"

#ifndef IOBENCH_REFERENCE_DIR
#define IOBENCH_REFERENCE_DIR "bench/reference"
#endif

namespace iobench::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::array<std::string_view, 3> kPython{"py_asyncio", "py_threads", "py_sequential"};
constexpr std::chrono::milliseconds kChildExitWait = 5s;

std::filesystem::path reference_dir() {
  if (const char* env = std::getenv("IOBENCH_REFERENCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return IOBENCH_REFERENCE_DIR;
}

std::string python() {
  const char* env = std::getenv("IOBENCH_PYTHON");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

std::string tail_of(const std::filesystem::path& p, std::size_t max = 2000) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > max ? "..." + text.substr(text.size() - max) : text;
}

ErrorKind kind_of(std::string_view s) {
  if (s == "none") return ErrorKind::none;
  if (s == "connect") return ErrorKind::connect;
  if (s == "timeout") return ErrorKind::timeout;
  if (s == "reset") return ErrorKind::reset;
  return ErrorKind::bad_response;
}

// wrk prints durations as 736.00us, 1.25ms, 2.01s, 1.00m.
double to_ms(double value, std::string_view unit) {
  if (unit == "us") return value / 1000;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60000;
  return value;
}

}  // namespace

std::span<const std::string_view> python_reference_names() { return kPython; }

bool is_python_reference(std::string_view impl) {
  return std::find(kPython.begin(), kPython.end(), impl) != kPython.end();
}

python_runner::python_runner(std::string_view impl, const Options& options) : options_(options) {
  const auto script = reference_dir() / (std::string(impl) + ".py");
  if (!std::filesystem::exists(script)) {
    throw std::runtime_error("reference implementation not found: " + script.string());
  }
  char tmpl[] = "/tmp/iobench-ref-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  stderr_file_ = tmpl;
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(fd);
    throw std::runtime_error("pipe failed");
  }
  const std::string interpreter = python();
  const std::string script_s = script.string();
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execl(interpreter.c_str(), interpreter.c_str(), "-u", script_s.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fd);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  to_child_ = ::fdopen(in_pipe[1], "w");
  from_child_ = ::fdopen(out_pipe[0], "r");
  if (to_child_ == nullptr || from_child_ == nullptr) fail("fdopen failed");
}

python_runner::~python_runner() {
  if (to_child_ != nullptr) std::fclose(to_child_);  // EOF on its stdin: the child exits
  if (from_child_ != nullptr) std::fclose(from_child_);
  if (pid_ > 0) reap_child(pid_, kChildExitWait);
  std::error_code ec;
  std::filesystem::remove(stderr_file_, ec);
}

void python_runner::fail(const std::string& what) {
  throw std::runtime_error(what + "; its stderr: " + tail_of(stderr_file_));
}

child_batch python_runner::run(std::span<const Request> requests) {
  json::array urls;
  urls.reserve(requests.size());
  for (const auto& r : requests) urls.emplace_back(r.url);
  const json::object spec{
      {"urls", std::move(urls)},
      {"concurrency", options_.concurrency},
      {"keep_alive", options_.keep_alive},
      {"timeout_s", std::chrono::duration<double>(options_.timeout).count()},
      {"connect_timeout_s", std::chrono::duration<double>(options_.connect_timeout).count()}};
  const std::string line = json::serialize(spec) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), to_child_) != line.size() ||
      std::fflush(to_child_) != 0) {
    fail("cannot write to the reference child");
  }
  char* buf = nullptr;
  std::size_t cap = 0;
  const ssize_t n = ::getline(&buf, &cap, from_child_);
  const std::string answer = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  std::free(buf);
  if (n <= 0) fail("the reference child ended without an answer");

  child_batch out;
  try {
    const auto doc = json::parse(answer).as_object();
    out.wall_s = doc.at("wall_s").to_number<double>();
    out.cpu_s = doc.at("cpu_s").to_number<double>();
    out.peak_rss_mib = doc.at("max_rss_kib").to_number<double>() / 1024;
    out.rss_start_mib =
        doc.contains("rss_start_kib") ? doc.at("rss_start_kib").to_number<double>() / 1024 : 0;
    out.threads = doc.at("threads").to_number<double>();
    for (const auto& v : doc.at("outcomes").as_array()) {
      const auto& row = v.as_array();
      Outcome o;
      o.status = static_cast<int>(row.at(0).to_number<double>());
      o.body_bytes = static_cast<std::size_t>(row.at(1).to_number<double>());
      o.start = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(row.at(2).to_number<double>())));
      o.end = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(row.at(3).to_number<double>())));
      o.error = kind_of(row.at(4).as_string());
      o.detail = std::string(row.at(5).as_string());
      out.outcomes.push_back(std::move(o));
    }
  } catch (const std::exception& e) {
    fail(std::string("unreadable answer from the reference child: ") + e.what());
  }
  if (out.outcomes.size() != requests.size()) fail("the reference child lost outcomes");
  return out;
}

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

wrk_result run_wrk(const std::filesystem::path& wrk, const std::string& url,
                   std::size_t connections, std::chrono::seconds duration) {
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const std::string c = "-c" + std::to_string(connections);
  const std::string d = "-d" + std::to_string(duration.count()) + "s";
  const std::string wrk_s = wrk.string();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(out_pipe[1], STDERR_FILENO);
    ::execl(wrk_s.c_str(), wrk_s.c_str(), "-t1", c.c_str(), d.c_str(), "--latency", url.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  std::string text;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(out_pipe[0], buf.data(), buf.size())) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("wrk failed: " + text.substr(0, 500));
  }
  wrk_result r = parse_wrk_output(text);
  r.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  r.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024;
  return r;
}

}  // namespace iobench::bench
