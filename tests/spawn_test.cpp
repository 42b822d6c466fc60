// spawn_child with real programs: pipes both ways, files, and the parent-death signal.
#include "spawn.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>

namespace {

using namespace iobench::bench;
using namespace std::chrono_literals;

std::string read_all(int fd) {
  std::string out;
  std::array<char, 256> buf{};
  for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) {
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

int exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::filesystem::path temp_file() {
  char tmpl[] = "/tmp/iobench-spawn-test-XXXXXX";
  ::close(::mkstemp(tmpl));
  return tmpl;
}

TEST(Spawn, PipesStdinAndStdoutAndSendsStderrToAFile) {
  const auto err = temp_file();
  spawn_options o;
  o.argv = {"/bin/sh", "-c", "read line; echo \"got $line\"; echo oops >&2"};
  o.pipe_stdin = true;
  o.pipe_stdout = true;
  o.stderr_file = err;
  const auto child = spawn_child(o);
  ASSERT_GT(child.pid, 0);
  ASSERT_EQ(::write(child.stdin_fd, "hi\n", 3), 3);
  ::close(child.stdin_fd);
  EXPECT_EQ(read_all(child.stdout_fd), "got hi\n");
  EXPECT_EQ(exit_status(child.pid), 0);
  std::stringstream text;
  text << std::ifstream(err).rdbuf();
  EXPECT_EQ(text.str(), "oops\n");
  std::filesystem::remove(err);
}

TEST(Spawn, StderrCanFollowStdout) {
  spawn_options o;
  o.argv = {"/bin/sh", "-c", "echo out; echo err >&2"};
  o.pipe_stdout = true;
  o.stderr_to_stdout = true;
  const auto child = spawn_child(o);
  EXPECT_EQ(child.stdin_fd, -1);
  EXPECT_EQ(read_all(child.stdout_fd), "out\nerr\n");
  EXPECT_EQ(exit_status(child.pid), 0);
}

TEST(Spawn, AProgramThatCannotRunExits127) {
  spawn_options o;
  o.argv = {"/nonexistent/program"};
  EXPECT_EQ(exit_status(spawn_child(o).pid), 127);
  EXPECT_THROW(spawn_child({}), std::invalid_argument);
}

TEST(Spawn, TheChildDiesWithItsParent) {
  // This test becomes the orphaned grandchild's reaper, so it can see how the grandchild ended.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int pids[2];
  ASSERT_EQ(::pipe(pids), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    // The parent leaves only once the child runs its program: past the check for a parent that
    // died before the signal was armed (that child exits 1 instead).
    spawn_options o;
    o.argv = {"/bin/sh", "-c", "echo ready; exec sleep 30"};
    o.pipe_stdout = true;
    o.death_signal = SIGKILL;
    const auto child = spawn_child(o);
    char ready = 0;
    (void)!::read(child.stdout_fd, &ready, 1);
    (void)!::write(pids[1], &child.pid, sizeof child.pid);
    ::_exit(0);
  }
  pid_t child = -1;
  ASSERT_EQ(::read(pids[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(pids[0]);
  ::close(pids[1]);
  EXPECT_EQ(exit_status(parent), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(Spawn, ReapChildKillsWhatDoesNotEnd) {
  spawn_options o;
  o.argv = {"/bin/sleep", "30"};
  const pid_t pid = spawn_child(o).pid;
  reap_child(pid, 50ms);
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "already reaped";
}

}  // namespace
