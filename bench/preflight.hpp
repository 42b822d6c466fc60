// What iobench and iobench-fetch check before they start, so that a run this machine cannot give
// fails at once with one line naming the limit and how to raise it, instead of minutes later with
// a bare std::bad_alloc or "Resource temporarily unavailable": URLs, threads, descriptors, memory.
//
// The machine is read once into `machine_headroom` (getrlimit, /proc, cgroups), and the verdict
// is a pure function of it and of what the batch needs, so tests can hand it any machine.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iobench::bench {

/// Throws cli::usage_error (naming `what`, e.g. "--server") unless `url` is an http:// URL every
/// model reads the same way: a host, a port in 1..65535 when one is given, no user info (curl
/// would send it as Basic auth, the coroutine model would not) and no fragment. With `base_only`
/// it may have no path or query either: a server's base URL, to which iobench appends its own.
/// With `https_ok` an https:// URL is read the same way (iobench-fetch; the suite is http only).
void check_http_url(std::string_view url, std::string_view what, bool base_only,
                    bool https_ok = false);

/// One limit on a resource: how much of it this process can still take, and what to tell a
/// user who needs more.
struct headroom {
  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t left = kUnlimited;
  std::string name;   ///< the limit as a user finds it, e.g. "kernel.pid_max = 32768"
  std::string raise;  ///< how to raise it, e.g. "sysctl -w kernel.pid_max=4194304"
};

/// Every limit found on each resource a batch uses (a resource has none when nothing limits it).
struct machine_headroom {
  std::vector<headroom> threads;        ///< threads this process may still start
  std::vector<headroom> descriptors;    ///< descriptors it may still open
  std::vector<headroom> memory;         ///< bytes it may still make resident
  std::vector<headroom> address_space;  ///< bytes of address space it may still reserve
  std::vector<headroom> commit;         ///< bytes the kernel will still commit (overcommit 2)
  std::uint64_t stack_bytes = 8 << 20;  ///< what each new thread's stack reserves
  unsigned cpus = 1;                    ///< for glibc's malloc arenas (8 per CPU at most)
};

/// Reads this machine's limits. NOTE: raise the soft RLIMIT_NOFILE first (raise_open_file_limit):
/// the descriptor headroom is the soft limit's.
machine_headroom read_machine_headroom();

/// What one batch will take from the machine.
struct batch_needs {
  std::string subject;        ///< the flags that ask for it, e.g. "-n 1000 -c 100 (thread_pool)"
  std::uint64_t threads = 0;  ///< threads the fetcher starts
  std::uint64_t descriptors = 0;
  std::uint64_t memory = 0;  ///< bytes of bookkeeping (requests, outcomes), threads not included
};

/// Resident bytes a worker thread costs beyond its stack reservation (touched stack pages, its
/// libcurl handle and buffers; measured at about 50 KiB).
inline constexpr std::uint64_t kThreadResidentBytes = 64 << 10;

/// Nullopt when the machine can give the batch what it needs; otherwise one line saying what the
/// batch needs, which limit refuses it, and how to raise that limit.
std::optional<std::string> refuse(const batch_needs& needs, const machine_headroom& machine);

/// "1.5 GiB", "640 KiB", "12 bytes": for the messages.
std::string human_bytes(std::uint64_t bytes);

}  // namespace iobench::bench
