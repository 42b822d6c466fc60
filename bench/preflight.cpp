#include "preflight.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/cli.hpp"
#include "probes.hpp"

namespace iobench::bench {
namespace {

// glibc gives each thread that allocates an arena of its own, up to 8 per CPU on 64-bit, and each
// arena reserves 64 MiB of address space (HEAP_MAX_SIZE).
constexpr std::uint64_t kArenasPerCpu = 8;
constexpr std::uint64_t kArenaBytes = 64 << 20;
// A thread's stack mapping comes with a guard page: two mappings per thread.
constexpr std::uint64_t kMapsPerThread = 2;
constexpr std::uint64_t kGuardBytes = 4096;
// cgroup v1 writes "no limit" as LONG_MAX rounded down to a page; anything this big is no limit.
constexpr std::uint64_t kNoCgroupLimit = std::uint64_t{1} << 60;

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A file holding one number ("max" and absent files are nullopt).
std::optional<std::uint64_t> read_u64(const std::filesystem::path& p) {
  return parse_u64(read_text(p));
}

// A "Name:   123 kB" field of /proc/meminfo, in bytes.
std::optional<std::uint64_t> meminfo_bytes(std::string_view field) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(field) || line.size() <= field.size() || line[field.size()] != ':') {
      continue;
    }
    std::istringstream s(line.substr(field.size() + 1));
    std::uint64_t kib = 0;
    if (s >> kib) return kib * 1024;
  }
  return std::nullopt;
}

std::uint64_t left_of(std::uint64_t limit, std::uint64_t used) {
  return limit > used ? limit - used : 0;
}

// Every scheduling entity on the machine (each thread takes a pid): /proc/loadavg's "R/T".
std::optional<std::uint64_t> threads_in_use() {
  const std::string text = read_text("/proc/loadavg");
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto end = text.find(' ', slash);
  return parse_u64(std::string_view(text).substr(slash + 1, end - slash - 1));
}

std::uint64_t count_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::uint64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

std::uint64_t open_descriptors() {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// The directories of this process's cgroup that hold `controller`'s files, innermost first
// (every ancestor's limit applies too). v2: "0::/path"; v1: "N:pids,...:/path".
std::vector<std::filesystem::path> cgroup_dirs(std::string_view controller) {
  std::vector<std::filesystem::path> dirs;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::filesystem::path base;
    if (controllers.empty()) {
      base = "/sys/fs/cgroup";
    } else {
      std::stringstream s(controllers);
      for (std::string c; std::getline(s, c, ',');) {
        if (c == controller) base = std::filesystem::path("/sys/fs/cgroup") / controller;
      }
      if (base.empty()) continue;
    }
    std::filesystem::path rel = line.substr(second + 1);
    for (;;) {
      dirs.push_back(base / rel.relative_path());
      if (!rel.has_relative_path()) break;
      rel = rel.parent_path();
    }
  }
  return dirs;
}

void add_cgroup_limits(std::vector<headroom>& out, std::string_view controller,
                       const char* max_file, const char* current_file, bool bytes) {
  for (const auto& dir : cgroup_dirs(controller)) {
    const auto max = read_u64(dir / max_file);
    if (!max || *max >= kNoCgroupLimit) continue;
    const auto current = read_u64(dir / current_file).value_or(0);
    out.push_back({left_of(*max, current),
                   "the cgroup's " + std::string(max_file) + " = " +
                       (bytes ? human_bytes(*max) : std::to_string(*max)) + " (" + dir.string() +
                       ")",
                   "raise it (as root, or the container's limit)"});
  }
}

std::uint64_t default_stack_bytes() {
  pthread_attr_t attr;
  std::size_t size = 0;
  if (pthread_getattr_default_np(&attr) == 0) {
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
  }
  return size > 0 ? size : std::uint64_t{8} << 20;
}

std::string with_commas(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// `why`: how the need was counted, when that is not obvious.
std::optional<std::string> check(const std::string& subject, std::uint64_t need,
                                 const std::vector<headroom>& limits,
                                 std::string (*amount)(std::uint64_t),
                                 const std::string& why = {}) {
  for (const auto& h : limits) {
    if (need <= h.left) continue;
    return subject + " needs " + amount(need) + why + ", but " + h.name + " leaves " +
           amount(h.left) + "; " + h.raise;
  }
  return std::nullopt;
}

std::string threads_amount(std::uint64_t n) {
  return with_commas(n) + (n == 1 ? " thread" : " threads");
}
std::string descriptors_amount(std::uint64_t n) {
  return with_commas(n) + (n == 1 ? " descriptor" : " descriptors");
}
std::string memory_amount(std::uint64_t n) { return human_bytes(n) + " of memory"; }
std::string address_amount(std::uint64_t n) { return human_bytes(n) + " of address space"; }
std::string commit_amount(std::uint64_t n) { return human_bytes(n) + " of committable memory"; }

}  // namespace

void check_http_url(std::string_view url, std::string_view what, bool base_only, bool https_ok) {
  const std::string got = " (got '" + std::string(url) + "')";
  const auto fail = [&](const std::string& why) {
    throw cli::usage_error(std::string(what) + ": " + why + got);
  };
  const auto u = boost::urls::parse_uri(url);
  const bool scheme_ok = u && (u->scheme_id() == boost::urls::scheme::http ||
                               (https_ok && u->scheme_id() == boost::urls::scheme::https));
  if (!scheme_ok || u->host().empty()) {
    throw cli::usage_error(std::string(what) + " must look like http" + (https_ok ? "[s]" : "") +
                           "://host[:port]" + (base_only ? "" : "/path") + got);
  }
  if (u->has_userinfo()) fail("user info (user:password@) is not supported");
  if (u->has_fragment()) fail("a fragment (#...) never reaches the server; leave it out");
  if (u->has_port()) {
    const auto port = parse_u64(u->port());
    if (!port || *port < 1 || *port > 65535) fail("the port must be in 1..65535");
  }
  if (base_only && ((!u->encoded_path().empty() && u->encoded_path() != "/") || u->has_query())) {
    fail("a server's URL has no path or query (iobench adds its own)");
  }
}

std::string human_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 5> kUnits{"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (v >= 1024 && unit + 1 < kUnits.size()) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

machine_headroom read_machine_headroom() {
  machine_headroom m;
  m.stack_bytes = default_stack_bytes();
  // glibc sizes its arenas by the CPUs online, not by this process's affinity mask.
  m.cpus = std::max(1U, std::thread::hardware_concurrency());

  // Threads. RLIMIT_NPROC counts all of the user's tasks, which one process cannot see; this
  // process's own are what it surely holds. Root is exempt from it.
  rlimit lim{};
  const auto own_threads = static_cast<std::uint64_t>(status_field("Threads:").value_or(1));
  if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    m.threads.push_back({left_of(lim.rlim_cur, own_threads),
                         "RLIMIT_NPROC (ulimit -u) = " + with_commas(lim.rlim_cur),
                         "raise it with ulimit -u, or in /etc/security/limits.conf"});
  }
  const auto in_use = threads_in_use().value_or(own_threads);
  if (const auto max = read_u64("/proc/sys/kernel/threads-max")) {
    m.threads.push_back(
        {left_of(*max, in_use),
         "kernel.threads-max = " + with_commas(*max) + " (" + with_commas(in_use) + " in use)",
         "raise it: sysctl -w kernel.threads-max=N"});
  }
  if (const auto max = read_u64("/proc/sys/kernel/pid_max")) {
    m.threads.push_back({left_of(*max, in_use),
                         "kernel.pid_max = " + with_commas(*max) + " (" + with_commas(in_use) +
                             " in use; each thread takes a pid)",
                         "raise it: sysctl -w kernel.pid_max=4194304"});
  }
  if (const auto max = read_u64("/proc/sys/vm/max_map_count")) {
    const auto maps = count_lines("/proc/self/maps");
    m.threads.push_back(
        {left_of(*max, maps) / kMapsPerThread,
         "vm.max_map_count = " + with_commas(*max) + " (a thread maps its stack and a guard page)",
         "raise it: sysctl -w vm.max_map_count=N"});
  }
  add_cgroup_limits(m.threads, "pids", "pids.max", "pids.current", false);

  // Descriptors.
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const auto nr_open = read_u64("/proc/sys/fs/nr_open");
    m.descriptors.push_back(
        {left_of(lim.rlim_cur, open_descriptors()),
         "the open-file limit (ulimit -n) = " + with_commas(lim.rlim_cur),
         lim.rlim_cur < lim.rlim_max
             ? std::string("raise it with ulimit -n")
             : "that is the hard limit: raise it as root (ulimit -Hn, LimitNOFILE= for a "
               "service, /etc/security/limits.conf), up to fs.nr_open = " +
                   (nr_open ? with_commas(*nr_open) : std::string("?"))});
  }
  {
    // fs.file-nr: allocated, unused, max (system-wide).
    std::istringstream s(read_text("/proc/sys/fs/file-nr"));
    std::uint64_t allocated = 0;
    std::uint64_t unused = 0;
    std::uint64_t max = 0;
    if (s >> allocated >> unused >> max && max < kNoCgroupLimit) {
      m.descriptors.push_back({left_of(max, allocated),
                               "fs.file-max = " + with_commas(max) + " (system-wide)",
                               "raise it: sysctl -w fs.file-max=N"});
    }
  }

  // Memory.
  if (const auto available = meminfo_bytes("MemAvailable")) {
    m.memory.push_back({*available, "MemAvailable (/proc/meminfo) = " + human_bytes(*available),
                        "free memory, or ask for less"});
  }
  add_cgroup_limits(m.memory, "memory", "memory.max", "memory.current", true);
  add_cgroup_limits(m.memory, "memory", "memory.limit_in_bytes", "memory.usage_in_bytes", true);
  if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const auto used = static_cast<std::uint64_t>(status_field("VmSize:").value_or(0)) * 1024;
    m.address_space.push_back({left_of(lim.rlim_cur, used),
                               "RLIMIT_AS (ulimit -v) = " + human_bytes(lim.rlim_cur),
                               "raise it with ulimit -v"});
  }
  if (read_u64("/proc/sys/vm/overcommit_memory") == 2) {
    const auto limit = meminfo_bytes("CommitLimit").value_or(0);
    const auto committed = meminfo_bytes("Committed_AS").value_or(0);
    m.commit.push_back(
        {left_of(limit, committed),
         "strict overcommit (vm.overcommit_memory = 2, CommitLimit " + human_bytes(limit) + ")",
         "raise vm.overcommit_ratio, or sysctl -w vm.overcommit_memory=0"});
  }
  return m;
}

std::optional<std::string> refuse(const batch_needs& needs, const machine_headroom& machine) {
  const std::uint64_t threads = needs.threads;
  const std::uint64_t arenas = std::min<std::uint64_t>(threads, kArenasPerCpu * machine.cpus);
  const std::uint64_t resident = needs.memory + threads * kThreadResidentBytes;
  const std::uint64_t stacks = threads * machine.stack_bytes;
  const std::uint64_t address = resident + stacks + threads * kGuardBytes + arenas * kArenaBytes;
  const std::uint64_t committed = resident + stacks;
  if (auto r = check(needs.subject, threads, machine.threads, threads_amount)) return r;
  if (auto r = check(needs.subject, needs.descriptors, machine.descriptors, descriptors_amount)) {
    return r;
  }
  if (auto r = check(needs.subject, resident, machine.memory, memory_amount)) return r;
  const std::string per_thread =
      threads > 0 ? " (" + human_bytes(machine.stack_bytes) + " of stack a thread)" : "";
  if (auto r = check(needs.subject, address, machine.address_space, address_amount, per_thread)) {
    return r;
  }
  return check(needs.subject, committed, machine.commit, commit_amount, per_thread);
}

}  // namespace iobench::bench
