// The reference child's pipes: the batch written to its stdin and its answer read from its
// stdout, both non-blocking and both to a deadline, so a child that never reads or never answers
// fails its row with one line instead of hanging the run. What the lines mean (the protocol, the
// checks) is reference.cpp's.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "reference.hpp"

namespace iobench::bench {
namespace {

// SIGPIPE blocked on this thread while it writes to a child: a child that has exited makes the
// write fail with EPIPE, which fails its row, instead of raising SIGPIPE, which would kill the
// run. The signal the write raised is taken before the mask is restored. Only this thread and
// only while writing: iobench's own output to a closed pipe still ends it as it would any tool,
// and children never inherit a changed disposition.
class sigpipe_blocked {
 public:
  sigpipe_blocked() {
    ::sigemptyset(&pipe_);
    ::sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~sigpipe_blocked() {
    const timespec now{};
    while (::sigtimedwait(&pipe_, nullptr, &now) > 0) {
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_blocked(const sigpipe_blocked&) = delete;
  sigpipe_blocked& operator=(const sigpipe_blocked&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
};

// Waits for `events` on `fd` until `deadline`: false when it passed.
bool ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let the read or write say what is wrong
  }
}

std::string seconds_of(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

void child_runner::send(std::string_view bytes, Clock::time_point deadline,
                        const std::string& what) {
  const sigpipe_blocked guard;
  const auto start = Clock::now();
  while (!bytes.empty()) {
    const ssize_t n = ::write(to_child_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A child that exits (or closes its stdin) before reading its batch: the same as one that
    // ends without answering, whichever of the two iobench sees first.
    if (n < 0 && errno == EPIPE) fail("the reference child ended without an answer");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      fail("cannot write " + what + " to the reference child: " + std::strerror(errno));
    }
    if (!ready(to_child_, POLLOUT, deadline)) {
      fail("the reference child did not read " + what + " within " +
           seconds_of(Clock::now() - start));
    }
  }
}

std::string child_runner::receive(Clock::time_point deadline, const std::string& what) {
  const auto start = Clock::now();
  std::array<char, 65536> buf{};
  for (;;) {
    if (const auto eol = received_.find('\n'); eol != std::string::npos) {
      std::string line = received_.substr(0, eol + 1);
      received_.erase(0, eol + 1);
      return line;
    }
    const ssize_t n = ::read(from_child_, buf.data(), buf.size());
    if (n > 0) {
      received_.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return {};  // it closed its stdout: it ended
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {};
    if (!ready(from_child_, POLLIN, deadline)) {
      fail("the reference child did not answer " + what + " within " +
           seconds_of(Clock::now() - start));
    }
  }
}

}  // namespace iobench::bench
