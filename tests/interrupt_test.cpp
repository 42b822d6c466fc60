// An interrupted process undoes what it registered: a child process (reproduced here with fork,
// so the signal really arrives and the process really dies of it).
#include "interrupt.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using namespace iobench::bench;

fs::path fresh_dir() {
  std::string tmpl = (fs::temp_directory_path() / "iobench-interrupt-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// Runs `body` in a forked child; returns its wait status.
template <class F>
int in_child(F&& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(Interrupt, SigintStopsTheChildRemovesTheFilesAndKillsTheProcess) {
  const fs::path dir = fresh_dir();
  const fs::path file = dir / "server.log";
  const fs::path kept = dir.string() + "-kept";
  std::ofstream(file) << "log";
  std::ofstream(kept) << "not registered";
  const fs::path pid_file = dir.string() + "-pid";
  const int status = in_child([&] {
    const pid_t sleeper = ::fork();
    if (sleeper == 0) {
      ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::ofstream(pid_file) << sleeper;
    on_interrupt::remove_file(file);
    on_interrupt::remove_dir(dir);
    on_interrupt::stop_child(sleeper);
    std::raise(SIGINT);
    ::_exit(3);  // not reached: the process dies of SIGINT
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::exists(kept)) << "only what was registered";
  pid_t sleeper = 0;
  std::ifstream(pid_file) >> sleeper;
  ASSERT_GT(sleeper, 0);
  EXPECT_NE(::kill(sleeper, 0), 0) << "the child was stopped and reaped";
  fs::remove(kept);
  fs::remove(pid_file);
}

TEST(Interrupt, ForgottenRegistrationsAreLeftAlone) {
  const fs::path dir = fresh_dir();
  const fs::path file = dir / "url";
  std::ofstream(file) << "x";
  const int status = in_child([&] {
    on_interrupt::forget(on_interrupt::remove_file(file));
    on_interrupt::forget(on_interrupt::remove_dir(dir));
    on_interrupt::forget(-1);
    std::raise(SIGTERM);
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(fs::exists(file));
  fs::remove_all(dir);
}

}  // namespace
