// What a program does with each response: Options::work (CPU) and Options::block (a blocking
// call), done by every model after each complete response on the thread that received it. On an
// event loop that thread is everyone's, so the work holds up every other request; on threads it
// holds up only its own. The work is real and the same in every model: passes of a 64-bit FNV-1a
// hash over a 4 KiB buffer (the models count bodies and keep none, so the buffer stands in for
// the body), as many passes as `work` took when calibrated once per process.
#pragma once

#include <chrono>
#include <cstdint>

namespace iobench {

/// Measures, once per process (later calls return the first answer), how long one hash pass
/// takes on this machine: the fastest of several timed runs, so a preempted run does not count.
/// Thread-safe. Takes a few tens of milliseconds the first time: call it before measuring.
std::chrono::nanoseconds work_pass_time();

/// How many passes `work` is: work / work_pass_time(), rounded, at least 1 for any work > 0.
std::uint64_t work_passes(std::chrono::nanoseconds work);

/// Runs `passes` hash passes on this thread; returns the hash so that nothing is optimised away.
std::uint64_t run_work_passes(std::uint64_t passes);

/// Responses that have had their work or block done in this process so far (for tests).
std::uint64_t responses_worked();

}  // namespace iobench
