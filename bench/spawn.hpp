// Child processes: the suite's mock_server, the Python references and wrk all start through
// spawn_child, so every child dies with the suite (PR_SET_PDEATHSIG) and none can be orphaned by
// a parent that died while it was being forked.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

namespace iobench::bench {

/// What to run and where its standard streams go.
struct spawn_options {
  std::vector<std::string> argv;      ///< argv[0] is the program's path (no PATH search)
  bool pipe_stdin = false;            ///< the parent writes the child's stdin through a pipe
  bool pipe_stdout = false;           ///< the parent reads the child's stdout through a pipe
  std::filesystem::path stdout_file;  ///< when not piped: a file (created, truncated), or inherited
  std::filesystem::path stderr_file;  ///< a file (created, truncated), or inherited when empty
  bool stderr_to_stdout = false;      ///< stderr goes wherever stdout goes (overrides stderr_file)
  int death_signal = SIGKILL;         ///< what the child gets when this process dies
  std::vector<int> cpus;              ///< the CPUs the child may run on; empty: this process's
};

/// A started child. The caller owns the pipe ends (-1 when not asked for) and reaps the child.
struct child_process {
  pid_t pid = -1;
  int stdin_fd = -1;   ///< write end of the child's stdin
  int stdout_fd = -1;  ///< read end of the child's stdout
};

/// Forks and execs `o.argv`. Throws std::runtime_error when a pipe, a file or the fork fails; a
/// program that cannot be executed makes the child exit with status 127.
child_process spawn_child(const spawn_options& o);

/// Waits up to `grace` for a child that was asked to end, then kills it (SIGKILL) and reaps it.
void reap_child(pid_t pid, std::chrono::milliseconds grace);

}  // namespace iobench::bench
