#include "server_process.hpp"

#include <curl/curl.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/cli.hpp"
#include "interrupt.hpp"
#include "spawn.hpp"

namespace iobench::bench {
namespace {

using namespace std::chrono_literals;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopTimeout = 10s;
constexpr long kControlTimeoutMs = 10000;

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A control request with libcurl (the suite links it anyway): returns status and body.
std::pair<long, std::string> request(const std::string& url, bool post,
                                     long timeout_ms = kControlTimeoutMs) {
  CURL* h = curl_easy_init();
  if (h == nullptr) throw std::runtime_error("curl_easy_init failed");
  std::string body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // the server is reached directly, as the models do
  // The suite's own server, over loopback: its control calls trust it (the models verify).
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  if (post) curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK) throw std::runtime_error(url + ": " + curl_easy_strerror(rc));
  return {status, body};
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The child's last non-empty line: a usage error is one line, after nothing else.
std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace

server_process::server_process(const std::filesystem::path& binary,
                               const std::vector<std::string>& args, const std::vector<int>& cpus,
                               bool tls) {
  if (!std::filesystem::exists(binary)) {
    throw std::runtime_error("mock_server not found at " + binary.string());
  }
  char tmpl[] = "/tmp/iobench-server-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const auto port_file = dir_ / "url";
  const auto log = dir_ / "server.log";
  if (tls) cacert_ = (dir_ / "ca.pem").string();
  // Everything the directory can hold (mock_server writes url.tmp, then renames it to url).
  for (const auto& f : {port_file, std::filesystem::path(port_file.string() + ".tmp"), log,
                        std::filesystem::path(cacert_)}) {
    if (!f.empty()) cleanup_.push_back(on_interrupt::remove_file(f));
  }
  cleanup_.push_back(on_interrupt::remove_dir(dir_));
  try {
    std::vector<std::string> all = args;
    if (tls) all.insert(all.end(), {"--tls", "--cert-out", cacert_});
    start(binary, std::move(all), cpus);
  } catch (...) {
    stop();  // no destructor runs for a constructor that throws
    throw;
  }
}

void server_process::start(const std::filesystem::path& binary, std::vector<std::string> args,
                           const std::vector<int>& cpus) {
  const auto port_file = dir_ / "url";
  const auto log = dir_ / "server.log";
  spawn_options o;
  o.argv = {binary.string(), "--port", "0", "--port-file", port_file.string()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  // Its output goes to a file the error messages can show; SIGTERM lets it drain if we die.
  o.stdout_file = log;
  o.stderr_to_stdout = true;
  o.death_signal = SIGTERM;
  o.cpus = cpus;
  pid_ = spawn_child(o).pid;
  cleanup_.push_back(on_interrupt::stop_child(pid_));

  const auto until = std::chrono::steady_clock::now() + kStartTimeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) == cli::kUsageExit) {
        throw server_usage_error(last_line(read_file(log)));
      }
      throw std::runtime_error("mock_server exited at start: " + read_file(log));
    }
    if (std::filesystem::exists(port_file)) {
      std::string url = read_file(port_file);
      while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
      try {
        if (request(url + "/healthz", false).first == 200) {
          url_ = url;
          return;
        }
      } catch (const std::exception&) {
        // not ready yet
      }
    }
    if (std::chrono::steady_clock::now() > until) {
      throw std::runtime_error("mock_server did not become ready: " + read_file(log));
    }
    std::this_thread::sleep_for(10ms);
  }
}

server_process::~server_process() { stop(); }

std::string server_process::ended() {
  std::lock_guard lock(mutex_);
  int status = 0;
  if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    if (WIFEXITED(status)) {
      ended_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      const char* name = sigabbrev_np(WTERMSIG(status));
      ended_ = "was killed by " + (name != nullptr ? "SIG" + std::string(name)
                                                   : "signal " + std::to_string(WTERMSIG(status)));
    } else {
      ended_ = "ended";
    }
  }
  return ended_;
}

void server_process::kill_now() noexcept {
  std::lock_guard lock(mutex_);
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

void server_process::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);  // the server drains and prints its final stats
    reap_child(pid_, kStopTimeout);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  for (const auto t : cleanup_) on_interrupt::forget(t);
  cleanup_.clear();
}

void reset_server_stats(const std::string& base_url) {
  const auto [status, body] = request(base_url + "/stats/reset", true);
  if (status != 200)
    throw std::runtime_error("POST /stats/reset answered " + std::to_string(status));
}

bool server_answers(const std::string& base_url, std::chrono::milliseconds within) {
  try {
    return request(base_url + "/healthz", false, static_cast<long>(within.count())).first == 200;
  } catch (const std::exception&) {
    return false;
  }
}

server_counters read_server_stats(const std::string& base_url) {
  const auto [status, body] = request(base_url + "/stats", false);
  if (status != 200) throw std::runtime_error("GET /stats answered " + std::to_string(status));
  const auto doc = boost::json::parse(body).as_object();
  server_counters c;
  c.max_in_flight = static_cast<double>(doc.at("max_in_flight").to_number<double>());
  c.late_p99_ms = doc.at("late_us").at("p99").to_number<double>() / 1000.0;
  auto number = [&](const char* key, double fallback) {
    const auto* v = doc.if_contains(key);
    return v != nullptr && v->is_number() ? v->to_number<double>() : fallback;
  };
  c.requests = number("requests", 0);
  c.tls_handshakes = number("tls_handshakes", 0);
  c.tls_resumed = number("tls_resumed", 0);
  c.threads = number("threads", 0);
  c.cpus = number("cpus", 0);
  c.cpu_s = number("cpu_us", 0) / 1e6;
  c.listen_overflows = number("listen_overflows", -1);
  return c;
}

}  // namespace iobench::bench
