#include "reference.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "interrupt.hpp"
#include "probes.hpp"
#include "spawn.hpp"

#ifndef IOBENCH_REFERENCE_DIR
#define IOBENCH_REFERENCE_DIR "bench/reference"
#endif

namespace iobench::bench {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// wrk is no child: its runner is built in. Every other reference is a manifest. It speaks https
// (OpenSSL, verifying nothing): the ceiling of the keep-alive /tls:1 rows too.
constexpr reference_info kWrkReference{
    {kWrk, "wrk, a thread per client CPU: the zero-delay ceiling", false, false, false, "wrk",
     "event_loop_per_core", "epoll", true},
    reference_runner::wrk};
constexpr std::chrono::milliseconds kChildExitWait = 5s;
// How long a child may take to start (an interpreter and its imports on a loaded machine), and
// beyond its batch's own worst case to answer.
constexpr std::chrono::seconds kChildStartWait = 30s;

std::chrono::milliseconds child_start_wait() {
  if (const char* env = std::getenv("IOBENCH_CHILD_START_S"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double s = std::strtod(env, &end);
    if (*end == '\0' && s > 0 && s < 86400) {
      return std::chrono::milliseconds(static_cast<long>(s * 1000));
    }
  }
  return kChildStartWait;
}

// The table references() serves: the manifests in reference_dir(), add_reference()'s, then wrk.
// A deque, so that the strings the entries view stay where they are.
struct reference_table {
  std::vector<reference_info> rows;
  std::deque<std::string> text;  // what the entries view: the manifests' and the added ones'
};

std::filesystem::path reference_dir();

reference_table& table() {
  static reference_table t = [] {
    reference_table t;
    t.rows = read_manifests(reference_dir(), t.text);
    t.rows.push_back(kWrkReference);
    return t;
  }();
  return t;
}

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

// A compiled child (go_goroutines): built with iobench when the toolchain is there
// (bench/CMakeLists.txt), next to the running executable.
std::filesystem::path built_child(std::string_view name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path("build/bin") : self.parent_path()) / name;
}

std::string node() {
  const char* env = std::getenv("IOBENCH_NODE");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/node";
}

const reference_info* find_reference(std::string_view impl) {
  const auto& rows = table().rows;
  const auto it = std::find_if(rows.begin(), rows.end(),
                               [impl](const reference_info& r) { return r.info.name == impl; });
  return it == rows.end() ? nullptr : &*it;
}

// The words of a --reference command, split as a shell would, without running anything.
std::vector<std::string> command_words(std::string_view command) {
  wordexp_t w{};
  const int rc = ::wordexp(std::string(command).c_str(), &w, WRDE_NOCMD);
  if (rc != 0) {
    if (rc == WRDE_NOSPACE) ::wordfree(&w);
    throw std::invalid_argument("cannot split the command '" + std::string(command) +
                                "' into words (" +
                                (rc == WRDE_CMDSUB    ? "a command substitution"
                                 : rc == WRDE_BADCHAR ? "a character like |, ;, & or >"
                                                      : "unbalanced quotes or a bad variable") +
                                ")");
  }
  std::vector<std::string> words(w.we_wordv, w.we_wordv + w.we_wordc);
  ::wordfree(&w);
  if (words.empty()) throw std::invalid_argument("an empty command");
  return words;
}

// Where `program` is: itself when it names a path, else the first match on PATH; empty if none.
std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? program : std::string();
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// Runs `argv` with its output discarded; true when it exits 0 within a few seconds.
bool succeeds(std::vector<std::string> argv) {
  try {
    spawn_options o;
    o.argv = std::move(argv);
    o.stdout_file = "/dev/null";
    o.stderr_file = "/dev/null";
    const child_process child = spawn_child(o);
    for (int waited_ms = 0; waited_ms < 10'000; waited_ms += 10) {
      int status = 0;
      const pid_t r = ::waitpid(child.pid, &status, WNOHANG);
      if (r == child.pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (r < 0) return false;
      std::this_thread::sleep_for(10ms);
    }
    reap_child(child.pid, 0ms);
  } catch (const std::exception&) {
  }
  return false;
}

std::string probe(const reference_info& r) {
  if (r.runner != reference_runner::child) return {};
  if (!r.command.empty()) {
    try {
      const auto words = command_words(r.command);
      if (find_program(words.front()).empty()) {
        return "'" + words.front() + "' is not an executable program (nor one on PATH)";
      }
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return {};
  }
  if (r.runtime == "go") {
    const auto binary = built_child(r.needs);
    if (::access(binary.c_str(), X_OK) != 0) {
      return "needs " + binary.string() + ", built with iobench where Go's toolchain is " +
             "installed (apt-get install " + std::string(r.package) + ", then build again)";
    }
    return {};
  }
  if (r.runtime == "node") {
    if (!succeeds({node(), "-e", "process.exit(typeof fetch === 'function' ? 0 : 1)"})) {
      return "needs Node.js 18 or later with its built-in fetch at " + node() +
             " (apt-get install " + std::string(r.package) + ", or set IOBENCH_NODE)";
    }
    return {};
  }
  if (!r.needs.empty() && !succeeds({python(), "-c", "import " + std::string(r.needs)})) {
    return "needs the Python module " + std::string(r.needs) + " for " + python() +
           " (apt-get install " + std::string(r.package) + ")";
  }
  return {};
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

}  // namespace

std::span<const reference_info> references() { return table().rows; }

void add_reference(std::string_view name, std::string_view command) {
  static const std::regex kName("[A-Za-z0-9_.-]+");
  if (!std::regex_match(name.begin(), name.end(), kName)) {
    throw std::invalid_argument("'" + std::string(name) +
                                "' is not a name: letters, digits, '_', '.' and '-'");
  }
  if (find_reference(name) != nullptr ||
      std::any_of(models().begin(), models().end(),
                  [name](const model_info& m) { return m.name == name; })) {
    throw std::invalid_argument("'" + std::string(name) + "' is taken by a model or reference");
  }
  if (command.find_first_not_of(" \t") == std::string_view::npos) {
    throw std::invalid_argument("'" + std::string(name) + "' has no command");
  }
  command_words(command);  // a command that cannot be split is a usage error, now
  auto& t = table();
  const std::string_view n = t.text.emplace_back(name);
  const std::string_view c = t.text.emplace_back(command);
  const std::string_view summary = t.text.emplace_back("your client: " + std::string(command));
  reference_info r{{n, summary, false, false, false, "", "", ""}, reference_runner::child};
  r.runtime = "command";
  r.command = c;
  // Before wrk, which stays last.
  const auto wrk = std::find_if(t.rows.begin(), t.rows.end(),
                                [](const reference_info& x) { return x.info.name == kWrk; });
  t.rows.insert(wrk, r);
}

std::string reference_unavailable(std::string_view impl) {
  static std::mutex mutex;
  static std::map<std::string, std::string, std::less<>> known;
  const reference_info* r = find_reference(impl);
  if (r == nullptr) return {};
  const std::lock_guard lock(mutex);
  if (const auto it = known.find(impl); it != known.end()) return it->second;
  return known.emplace(std::string(impl), probe(*r)).first->second;
}

bool is_child_reference(std::string_view impl) {
  const reference_info* r = find_reference(impl);
  return r != nullptr && r->runner == reference_runner::child;
}

child_runner::child_runner(std::string_view impl, const Options& options) : options_(options) {
  const reference_info* r = find_reference(impl);
  if (r == nullptr || r->runner != reference_runner::child) {
    throw std::runtime_error("not a reference client: " + std::string(impl));
  }
  const auto script = reference_dir() / r->program;
  if (r->command.empty() && r->runtime != "go" && !std::filesystem::exists(script)) {
    throw std::runtime_error("reference implementation not found: " + script.string());
  }
  char tmpl[] = "/tmp/iobench-ref-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  stderr_file_ = tmpl;
  cleanup_ = on_interrupt::remove_file(stderr_file_);
  try {
    spawn_options o;
    if (!r->command.empty()) {
      o.argv = command_words(r->command);
      o.argv.front() = find_program(o.argv.front());
    } else if (r->runtime == "go") {
      o.argv = {built_child(r->needs).string()};
    } else if (r->runtime == "node") {
      o.argv = {node(), script.string()};
    } else {
      o.argv = {python(), "-u", script.string()};
    }
    o.pipe_stdin = true;
    o.pipe_stdout = true;
    o.stderr_file = stderr_file_;
    const child_process child = spawn_child(o);
    pid_ = child.pid;
    to_child_ = child.stdin_fd;
    from_child_ = child.stdout_fd;
    for (const int fd : {to_child_, from_child_})
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    one_at_a_time_ = r->info.one_at_a_time;
    // An empty batch first: once it is answered the child's start-up (an interpreter, its
    // imports) is over, so the kernel's count of its CPU for each batch holds the batch alone.
    run({});
  } catch (...) {
    stop();  // no destructor runs for a constructor that throws
    throw;
  }
}

child_runner::~child_runner() { stop(); }

void child_runner::stop() noexcept {
  if (to_child_ >= 0) ::close(to_child_);  // EOF on its stdin: the child exits
  if (from_child_ >= 0) ::close(from_child_);
  to_child_ = from_child_ = -1;
  if (pid_ > 0) reap_child(pid_, kChildExitWait);
  pid_ = -1;
  std::error_code ec;
  std::filesystem::remove(stderr_file_, ec);
  on_interrupt::forget(cleanup_);
  cleanup_ = -1;
}

void child_runner::fail(const std::string& what) {
  const std::string err = tail_of(stderr_file_);
  throw std::runtime_error(what + (err.empty() ? "; no stderr" : "; its stderr: " + err));
}

child_batch child_runner::run(std::span<const Request> requests) {
  json::array urls;
  urls.reserve(requests.size());
  for (const auto& r : requests) urls.emplace_back(r.url);
  json::object spec{
      {"protocol", kProtocolVersion},
      {"urls", std::move(urls)},
      {"concurrency", options_.concurrency},
      {"keep_alive", options_.keep_alive},
      {"timeout_s", std::chrono::duration<double>(options_.timeout).count()},
      {"connect_timeout_s", std::chrono::duration<double>(options_.connect_timeout).count()}};
  // A field version 1 children ignore (unknown fields are): one that does not speak https fails
  // its requests, which the row reports.
  if (!options_.cacert.empty()) spec["cacert"] = options_.cacert;
  const std::string line = json::serialize(spec) + "\n";
  // The longest a batch may honestly take: every wave at its timeout; then the start-up's wait
  // again, for a loaded machine (and, for the empty first batch, the start-up itself).
  const std::size_t c = one_at_a_time_ ? 1 : std::max<std::size_t>(1, options_.concurrency);
  const auto waves = static_cast<long>((requests.size() + c - 1) / c);
  const auto deadline = Clock::now() + waves * options_.timeout + child_start_wait();
  const std::string what = requests.empty() ? "the empty first batch (its start-up)"
                                            : "a batch of " + std::to_string(requests.size());
  const auto cpu_before = process_cpu_s_of(pid_);
  send(line, deadline, what);
  const std::string answer = receive(deadline, what);
  if (answer.empty()) fail("the reference child ended without an answer");
  const auto cpu_after = process_cpu_s_of(pid_);

  child_batch out;
  if (cpu_before && cpu_after) out.kernel_cpu_s = *cpu_after - *cpu_before;
  out.kernel_peak_rss_mib = static_cast<double>(status_field_of(pid_, "VmHWM:").value_or(0)) / 1024;
  std::string other_protocol;  // the version a child answered with, when not ours
  try {
    const auto doc = json::parse(answer).as_object();
    if (const auto* v = doc.if_contains("protocol");
        v != nullptr && v->to_number<double>() != kProtocolVersion) {
      other_protocol = json::serialize(*v);
    }
    out.wall_s = doc.at("wall_s").to_number<double>();
    out.cpu_s = doc.at("cpu_s").to_number<double>();
    // A child written before these were asked for reports none: 0, as unknown.
    if (doc.contains("vol_csw")) out.vol_csw = doc.at("vol_csw").to_number<double>();
    if (doc.contains("invol_csw")) out.invol_csw = doc.at("invol_csw").to_number<double>();
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
    if (other_protocol.empty()) {
      fail(std::string("unreadable answer from the reference child: ") + e.what());
    }
  }
  if (!other_protocol.empty()) {
    fail("the reference child speaks protocol " + other_protocol + ", iobench speaks " +
         std::to_string(kProtocolVersion));
  }
  if (out.outcomes.size() != requests.size()) {
    fail("the reference child answered " + std::to_string(out.outcomes.size()) + " outcomes for " +
         std::to_string(requests.size()) + " requests");
  }
  return out;
}

}  // namespace iobench::bench
