// What an interrupted suite must not leave behind: its mock_server child, the child's temporary
// directory (/tmp/iobench-server-*) and the Python references' stderr files (/tmp/iobench-ref-*).
// Destructors clean up after a normal exit; on SIGINT or SIGTERM no destructor runs, so the
// owners register here what to undo, and a signal handler undoes it with async-signal-safe calls
// only (kill, waitpid, nanosleep, unlink, rmdir) on paths copied in advance, then dies of the
// same signal.
#pragma once

#include <sys/types.h>

#include <filesystem>

namespace iobench::bench::on_interrupt {

/// What one registration returns, to undo it with forget(). Negative: nothing was registered
/// (every slot taken, or a path too long), so an interruption leaves that one behind.
using token = int;

/// Stops `pid` if this process is interrupted: SIGTERM, a bounded wait, then SIGKILL, and reaps
/// it. Installs the handlers on first use (not over a signal this process ignores).
token stop_child(pid_t pid);

/// Unlinks the file `path` if this process is interrupted (after stopping the children).
token remove_file(const std::filesystem::path& path);

/// Removes the directory `path` if this process is interrupted, after the files: register what
/// it holds with remove_file.
token remove_dir(const std::filesystem::path& path);

/// Undoes a registration whose owner cleaned up itself. Ignores a negative token.
void forget(token t);

}  // namespace iobench::bench::on_interrupt
