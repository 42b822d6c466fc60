// A model the machine refuses is skipped with one line, never failed: uring under a seccomp
// filter that refuses io_uring_setup, as container runtimes' default profiles do. Each check runs
// in a forked child (the filter cannot be lifted once installed); the binaries it runs sit beside
// this test's executable (build/bin).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "impls/fetcher.hpp"

namespace {

using namespace iobench;

// Makes io_uring_setup fail with EPERM in this process and every child it starts.
bool refuse_io_uring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

struct child_result {
  int exit_code = -1;  // -1: it did not exit normally
  std::string output;  // stdout and stderr together
};

// Forks; the child refuses io_uring, then runs `body` (its return value is the exit code) or
// execs `argv` when body is null. The parent collects what it printed.
child_result in_refusing_child(int (*body)(), const std::vector<std::string>& argv = {}) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    if (!refuse_io_uring()) ::_exit(100);
    if (body != nullptr) {
      const int rc = body();
      std::fflush(nullptr);
      ::_exit(rc);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(101);
  }
  ::close(out[1]);
  child_result r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) r.output.append(buf, n);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

std::string bin(const char* name) {
  return (std::filesystem::canonical("/proc/self/exe").parent_path() / name).string();
}

TEST(Availability, ModelsWithoutAProbeAndUnknownNamesAreAvailable) {
  EXPECT_EQ(model_unavailable("coroutine"), "");
  EXPECT_EQ(model_unavailable("epoll"), "");
  EXPECT_EQ(model_unavailable("carrier_pigeon"), "");
}

TEST(Availability, RefusedIoUringMakesUringUnavailableWithItsReason) {
  const auto r = in_refusing_child([] {
    const std::string why = model_unavailable("uring");
    std::printf("%s\n", why.c_str());
    if (why.find("io_uring_setup") == std::string::npos) return 1;
    try {
      make_fetcher("uring", {});
      return 2;  // made anyway
    } catch (const std::runtime_error&) {
    }
    return model_unavailable("epoll").empty() ? 0 : 3;
  });
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("seccomp"), std::string::npos) << r.output;
}

TEST(Availability, IobenchFetchSkipsARefusedModelWithOneLineAndExitsZero) {
  const auto r = in_refusing_child(
      nullptr, {bin("iobench-fetch"), "--impl", "uring", "-n", "3", "http://127.0.0.1:1/"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(r.output.starts_with("iobench-fetch: uring skipped: io_uring_setup")) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(Availability, TheSuiteSkipsARefusedModelWithOneLine) {
  const auto r =
      in_refusing_child(nullptr, {bin("iobench"), "--impls", "uring", "--suite", "smoke"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(r.output.starts_with("iobench: uring skipped: io_uring_setup")) << r.output;
}

TEST(Availability, TheSharedSuitesSkipARefusedModel) {
  const auto r = in_refusing_child(
      nullptr, {bin("fetcher_test"), "--gtest_filter=AllModels/Fetchers.EmptyBatchIsEmpty/uring"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("uring skipped: io_uring_setup"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[  SKIPPED ] 1 test"), std::string::npos) << r.output;
}

}  // namespace
