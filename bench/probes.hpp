// What the suite reads about a process: CPU time, resident memory, threads (getrusage and
// /proc/self), and the machine's CPU model. The one copy of these readers: the model runner, the
// wrk runner and the results' context all use them.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace iobench::bench {

/// User + system time in `usage`, in seconds.
double cpu_seconds(const rusage& usage);

/// This process's user + system CPU time so far, in seconds.
double process_cpu_s();

/// Context switches so far (getrusage): voluntary (it waited: I/O, a lock, a sleep) and
/// involuntary (the scheduler took the CPU away).
struct context_switches {
  double voluntary = 0;
  double involuntary = 0;
};

/// This process's context switches so far, every thread's.
context_switches process_csw();

/// The context switches in `usage`.
context_switches csw_of(const rusage& usage);

/// A numeric field of /proc/self/status ("VmRSS:", "VmHWM:" in kB, "Threads:"); nullopt when
/// absent.
std::optional<long> status_field(std::string_view field);

/// status_field() of another process (/proc/PID/status); nullopt when absent or gone.
std::optional<long> status_field_of(pid_t pid, std::string_view field);

/// The user + system CPU time of process `pid` so far, every thread's (/proc/PID/stat, in clock
/// ticks: 10 ms steps); nullopt when it cannot be read.
std::optional<double> process_cpu_s_of(pid_t pid);

/// Resident memory now, MiB.
double rss_mib();

/// Peak resident memory since the last reset_peak_rss(), MiB.
double peak_rss_mib();

/// This process's threads now.
double thread_count();

/// Gives freed memory back, then restarts the kernel's RSS high-water mark, so that a light
/// benchmark after a heavy one is not charged the heavy one's peak.
void reset_peak_rss();

/// The "model name" of /proc/cpuinfo's first processor; "unknown" when there is none.
std::string cpu_model();

/// cpu_model() from the text of a cpuinfo file (exposed for tests).
std::string cpu_model_from(std::string_view cpuinfo);

}  // namespace iobench::bench
