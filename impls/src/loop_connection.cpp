#include "loop_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace iobench::detail {

using next = loop_connection::next;

next loop_connection::begin(const std::string& url, Outcome& out, Clock::time_point deadline) {
  out_ = &out;
  deadline_ = deadline;
  attempt_ = 0;
  if (url != url_) {
    url_ = url;
    target_ = parse_target(url);
    if (target_.error.empty()) {
      request_ = get_request(target_, options_->keep_alive);
    }
  }
  if (!target_.error.empty()) {
    out.error = ErrorKind::connect;
    out.detail = target_.error;
    return next::done;  // the connection, if any, stays as it is for the next request
  }
  return start_attempt();
}

next loop_connection::start_attempt() {
  written_ = 0;
  got_bytes_ = false;
  opened_ = false;
  framing_.reset();
  reused_ = fd_ >= 0 && peer_.size() == target_.host.size() + 1 + target_.port.size() &&
            peer_.starts_with(target_.host) && peer_.ends_with(target_.port) &&
            peer_[target_.host.size()] == ':';
  if (reused_) {
    step_deadline_ = deadline_;
    return next::write;
  }
  close();
  return open_socket();
}

next loop_connection::open_socket() {
  if (std::string why = resolve(); !why.empty()) return finish(ErrorKind::connect, std::move(why));
  fd_ = ::socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return finish(ErrorKind::connect, std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  opened_ = true;
  connecting_ = true;
  connect_began_ = Clock::now();
  step_deadline_ = std::min(deadline_, connect_began_ + options_->connect_timeout);
  return next::connect;
}

std::string loop_connection::resolve() {
  const std::string key = target_.host + ":" + target_.port;
  if (key == address_key_) return {};
  address_key_.clear();
  // A name is resolved here, blocking the loop (once per name; the benchmarks use addresses).
  if (std::string why = resolve_target(target_, address_, address_size_); !why.empty()) return why;
  address_key_ = key;
  return {};
}

next loop_connection::connected(int error) {
  connecting_ = false;
  if (error != 0)
    return finish(ErrorKind::connect, std::string("connect: ") + std::strerror(error));
  peer_ = address_key_;
  out_->new_connection = true;
  out_->connect_time = Clock::now() - connect_began_;
  step_deadline_ = deadline_;
  return next::write;
}

next loop_connection::wrote(long result) {
  if (result < 0) {
    return retry_or_finish(ErrorKind::reset,
                           std::string("write: ") + std::strerror(static_cast<int>(-result)));
  }
  written_ += static_cast<std::size_t>(result);
  return written_ < request_.size() ? next::write : next::read;
}

next loop_connection::received(std::string_view bytes) {
  if (!got_bytes_) out_->first_byte = Clock::now() - out_->start;
  got_bytes_ = true;
  const std::size_t used = framing_.feed(bytes);
  if (framing_.bad()) return finish(ErrorKind::bad_response, framing_.violation());
  if (framing_.done()) {
    // Bytes past the response in this read answer nothing we sent: they go with the connection.
    if (used < bytes.size() || !options_->keep_alive || !framing_.keep_alive()) close();
    return complete();
  }
  // A server that sends without pause never lets a read wait for the deadline.
  if (Clock::now() >= deadline_) return finish(ErrorKind::timeout, "read: total timeout");
  return next::read;
}

next loop_connection::ended(int error) {
  if (error == 0 && framing_.to_the_close()) {
    close();
    return complete();  // a body delimited by the close
  }
  std::string detail = error == 0 ? std::string("read: the peer closed the connection")
                                  : std::string("read: ") + std::strerror(error);
  if (!got_bytes_) return retry_or_finish(ErrorKind::reset, std::move(detail));
  // Cut short past the final status line, or a failed connection before it.
  return finish(framing_.final_status_seen() ? ErrorKind::bad_response : ErrorKind::reset,
                std::move(detail));
}

next loop_connection::expired() {
  if (connecting_) return finish(ErrorKind::connect, "connect timeout");
  return finish(ErrorKind::timeout,
                written_ < request_.size() ? "write: total timeout" : "read: total timeout");
}

next loop_connection::retry_or_finish(ErrorKind error, std::string detail) {
  // A reused connection the server closed while idle fails before any byte comes back: that is
  // not the request's fault, so it gets one retry on a fresh connection.
  if (reused_ && attempt_ == 0 && !got_bytes_) {
    close();
    ++attempt_;
    return start_attempt();
  }
  return finish(error, std::move(detail));
}

next loop_connection::finish(ErrorKind error, std::string detail) {
  close();
  out_->status = 0;
  out_->error = error;
  out_->detail = std::move(detail);
  return next::done;
}

next loop_connection::complete() {
  out_->status = framing_.status();
  out_->body_bytes = static_cast<std::size_t>(framing_.body_bytes());
  out_->error = ErrorKind::none;
  return next::done;
}

void loop_connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  peer_.clear();
  connecting_ = false;
}

loop_batch::loop_batch(const Options& options, std::span<const Request> requests,
                       std::vector<Outcome>& outcomes)
    : options_(&options),
      requests_(requests),
      outcomes_(&outcomes),
      connections_(std::min(options.concurrency, requests.size())) {}

loop_batch::loop_batch(const Options& options, std::span<const Request> requests,
                       std::span<const Clock::time_point> send_at, const schedule_limits& limits,
                       schedule_result& result)
    : options_(&options),
      requests_(requests),
      outcomes_(&result.outcomes),
      connections_(std::min(options.concurrency, requests.size())),
      send_at_(send_at),
      limits_(limits),
      result_(&result) {
  result.outcomes = unsent_outcomes(send_at);
}

std::optional<std::size_t> loop_batch::take() {
  if (exhausted()) return std::nullopt;
  const auto now = Clock::now();
  Outcome& out = (*outcomes_)[next_];
  if (result_ != nullptr) {
    if (send_at_[next_] > now) return std::nullopt;
    if (now >= limits_.deadline) {
      stopped_ = true;  // the rest stay unsent
      return std::nullopt;
    }
    if (now - send_at_[next_] > limits_.max_lag) {
      stopped_ = true;
      result_->stopped_early = true;
      return std::nullopt;
    }
    out.sent = true;
    report_sent(*options_, send_at_[next_], now);
  }
  out.start = now;
  return next_++;
}

Clock::time_point loop_batch::next_due() const {
  if (exhausted()) return Clock::time_point::max();
  return result_ == nullptr ? Clock::time_point::min() : send_at_[next_];
}

bool loop_batch::exhausted() const {
  if (next_ >= requests_.size() || stopped_) return true;
  // Nothing is sent at or after the run's deadline.
  return result_ != nullptr && send_at_[next_] >= limits_.deadline;
}

void loop_batch::note_waiting() {
  if (result_ == nullptr || exhausted()) return;
  const auto from = send_at_.begin() + static_cast<std::ptrdiff_t>(next_);
  const auto due =
      static_cast<std::size_t>(std::upper_bound(from, send_at_.end(), Clock::now()) - from);
  result_->peak_queue = std::max(result_->peak_queue, due);
}

Clock::time_point loop_batch::deadline(std::size_t i) const {
  const Clock::time_point own = (*outcomes_)[i].start + options_->timeout;
  return result_ == nullptr ? own : std::min(own, limits_.deadline);
}

void loop_batch::finish(std::size_t i) {
  Outcome& out = (*outcomes_)[i];
  out.end = Clock::now();
  // Cut off by the end of an open-loop run, not by its own timeout: incomplete, not an error.
  if (result_ != nullptr) {
    out.finished = !(out.error == ErrorKind::timeout && deadline(i) == limits_.deadline);
  }
  report_finished(*options_, out);
}

}  // namespace iobench::detail
