// uring: one thread (the caller's), non-blocking sockets and an event loop written for this
// project over io_uring (liburing); the epoll model's connection state machine
// (loop_connection.hpp), request for request, with completions instead of readiness.
//
// Why it behaves as it does: every step a connection wants (connect, send, recv) becomes one
// submission; the loop hands all of a turn's submissions to the kernel and waits for the next
// completions in one io_uring_enter, so the syscalls per request fall from about three (send,
// recv, a share of epoll_wait) to a share of one, and the kernel, not the loop, finds out when a
// socket is ready (it arms its own poll for a send or recv that would block, then completes it).
// The work per byte is the same as epoll's; what differs is the crossings and the bookkeeping:
// each operation costs a submission entry, a completion entry and a poll armed in the kernel,
// where epoll keeps one registration per connection. Which side wins is what the model measures.
//
// io-wq: network operations on this kernel complete inline or through the poll the kernel arms,
// never in io_uring's worker threads; any io-wq worker that did run is a thread of this process
// (an "iou-wrk" task in its thread group), so RUSAGE_SELF, and with it cpu_us_per_req, counts
// its CPU (docs/models.md).
//
// Timeouts: the step deadlines of the epoll model sit in the same heap; the loop waits with
// io_uring_submit_and_wait_timeout until the earliest one or the next open-loop send time, and a
// connection whose deadline passed gets its operation cancelled (IORING_OP_ASYNC_CANCEL); the
// cancelled completion ends its request as the state machine says (a connect timeout or the total
// timeout). One operation at most is in the ring per connection, and a socket is closed only
// when none is, so a completion always finds the connection it was for.
//
// The ring is set up per batch on the calling thread (single issuer, task work deferred to the
// wait: what io_uring's authors recommend for one thread that submits and reaps), and where the
// kernel refuses io_uring, the model is not available (probe_uring): callers skip it.
#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "own_loop.hpp"

namespace iobench::detail {
namespace {

constexpr unsigned kSubmissionEntries = 1024;
// One operation and one cancel per connection may complete at once; past this the kernel keeps
// the overflow (IORING_FEAT_NODROP) and the loop reaps it on the next turn.
constexpr unsigned kCompletionEntries = 16384;
constexpr std::uint64_t kCancelTag = 0;  // the user_data of cancels: their completions are ignored

class ring_owner {
 public:
  ring_owner() {
    io_uring_params p{};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = kCompletionEntries;
    int rc = io_uring_queue_init_params(kSubmissionEntries, &ring, &p);
    if (rc == -EINVAL) {  // a kernel before 6.1: without the single-issuer flags
      p = {};
      p.flags = IORING_SETUP_CQSIZE;
      p.cq_entries = kCompletionEntries;
      rc = io_uring_queue_init_params(kSubmissionEntries, &ring, &p);
    }
    if (rc < 0) throw std::system_error(-rc, std::generic_category(), "io_uring_queue_init");
  }
  ~ring_owner() { io_uring_queue_exit(&ring); }
  ring_owner(const ring_owner&) = delete;
  ring_owner& operator=(const ring_owner&) = delete;
  io_uring ring{};
};

struct uring_slot : loop_slot {
  using loop_slot::loop_slot;
  bool cancelling = false;         // its deadline passed and a cancel is in the ring
  std::unique_ptr<char[]> buffer;  // where its recv lands
};

class uring_fetcher final : public own_loop<uring_slot> {
 public:
  explicit uring_fetcher(const Options& options) : own_loop(options) {}

 private:
  void open_batch() override { ring_.emplace(); }
  void close_batch() override { ring_.reset(); }

  io_uring* ring() { return &ring_->ring; }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(ring());
    if (e == nullptr) {  // the submission queue is full: hand it over and take a fresh entry
      io_uring_submit(ring());
      e = io_uring_get_sqe(ring());
    }
    if (e == nullptr) throw std::runtime_error("io_uring: no submission entry");
    return e;
  }

  void wait(Clock::time_point wake) override {
    io_uring_cqe* cqe = nullptr;
    int rc = 0;
    if (wake == Clock::time_point::max()) {
      rc = io_uring_submit_and_wait(ring(), 1);
    } else {
      const auto ns = std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now()).count());
      __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
      rc = io_uring_submit_and_wait_timeout(ring(), &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      throw std::system_error(-rc, std::generic_category(), "io_uring_enter");
    }
    // Taken off the ring first: handling them queues new submissions.
    completions_.clear();
    unsigned head = 0;
    unsigned count = 0;
    io_uring_for_each_cqe(ring(), head, cqe) {
      completions_.emplace_back(cqe->user_data, cqe->res);
      ++count;
    }
    io_uring_cq_advance(ring(), count);
    for (const auto& [tag, res] : completions_) {
      if (tag != kCancelTag) on_completion(static_cast<std::size_t>(tag - 1), res);
    }
  }

  void on_completion(std::size_t s, int res) {
    uring_slot& sl = slot(s);
    if (std::exchange(sl.cancelling, false) && res == -ECANCELED) {
      drive(s, sl.conn.expired());
      return;
    }
    // Not a failure: interrupted, or nothing yet (the kernel normally waits for us).
    if (res == -EINTR || res == -EAGAIN) {
      drive(s, sl.want);
      return;
    }
    switch (sl.want) {
      case next::connect:
        drive(s, sl.conn.connected(res < 0 ? -res : 0));
        break;
      case next::write:
        drive(s, sl.conn.wrote(res));
        break;
      case next::read:
        if (res > 0) {
          drive(s, sl.conn.received({sl.buffer.get(), static_cast<std::size_t>(res)}));
        } else {
          drive(s, sl.conn.ended(-res));
        }
        break;
      case next::done:
        break;
    }
  }

  // The operation in the ring is cancelled; its completion ends the request.
  void on_expired(std::size_t s) override {
    uring_slot& sl = slot(s);
    if (sl.cancelling) return;
    sl.cancelling = true;
    io_uring_sqe* c = sqe();
    io_uring_prep_cancel64(c, s + 1, 0);
    io_uring_sqe_set_data64(c, kCancelTag);
  }

  // Every step is one submission; the connection waits for its completion.
  std::optional<next> act(std::size_t s, next n) override {
    uring_slot& sl = slot(s);
    io_uring_sqe* e = sqe();
    const int fd = sl.conn.fd();
    if (n == next::connect) {
      io_uring_prep_connect(e, fd, sl.conn.address(), sl.conn.address_size());
    } else if (n == next::write) {
      const auto bytes = sl.conn.unsent();
      io_uring_prep_send(e, fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    } else {
      if (!sl.buffer) sl.buffer = std::make_unique_for_overwrite<char[]>(kLoopReadBuffer);
      io_uring_prep_recv(e, fd, sl.buffer.get(), kLoopReadBuffer, 0);
    }
    io_uring_sqe_set_data64(e, s + 1);
    return std::nullopt;
  }

  std::optional<ring_owner> ring_;
  std::vector<std::pair<std::uint64_t, int>> completions_;
};

// The sysctl that switches io_uring off (Linux 6.6+): 0 on, 1 only for io_uring_group, 2 off;
// -1 where there is no such file.
int io_uring_disabled() {
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  int v = -1;
  return f >> v ? v : -1;
}

}  // namespace

std::string probe_uring() {
  if (io_uring_disabled() == 2) return "io_uring is disabled (kernel.io_uring_disabled = 2)";
  io_uring ring{};
  const int rc = io_uring_queue_init(2, &ring, 0);
  if (rc < 0) {
    std::string why = std::string("io_uring_setup failed: ") + std::strerror(-rc);
    if (-rc == EPERM && io_uring_disabled() == 1) {
      why += " (kernel.io_uring_disabled = 1 and this process is not in kernel.io_uring_group)";
    } else if (-rc == EPERM || -rc == ENOSYS) {
      why += " (a seccomp filter, as in container runtimes, or a kernel without io_uring)";
    }
    return why;
  }
  std::string why;
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    why = "io_uring cannot list its operations (a kernel before 5.6)";
  } else {
    for (const auto op :
         {IORING_OP_CONNECT, IORING_OP_SEND, IORING_OP_RECV, IORING_OP_ASYNC_CANCEL}) {
      if (io_uring_opcode_supported(probe, op) == 0 && why.empty()) {
        why = "this kernel's io_uring lacks operation " + std::to_string(op) + " (Linux 5.6+)";
      }
    }
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return why;
}

std::unique_ptr<Fetcher> make_uring(const Options& options) {
  return std::make_unique<uring_fetcher>(options);
}

}  // namespace iobench::detail
