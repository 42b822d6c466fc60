// What the fuzz targets share: how an input becomes a byte stream (with the flood marker that
// lets a few hundred bytes stand for megabytes), how a finding is reported, and blocking-free
// loopback socket helpers with deadlines, so that a peer that stops reading or stops answering
// ends a wait instead of hanging the fuzzer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace iobench::fuzz {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// An input `PREFIX<<FLOOD>>UNIT` is sent as PREFIX followed by UNIT repeated, up to a cap the
/// target chooses (megabytes): endless headers, chunk extensions or trailers from a short input.
/// Without the marker (or with an empty UNIT) the input is sent as it is.
inline constexpr std::string_view kFloodMarker = "<<FLOOD>>";

/// An input `A<<NEXT>>B` is two connections' worth: the first connection gets A, the next B (the
/// fetchers target answers its connections with the parts in turn; the server target sends the
/// parts over successive connections). Sequences that need state left by an earlier connection
/// (a reused client handle, a server's counters) fit in one input this way.
inline constexpr std::string_view kNextMarker = "<<NEXT>>";

/// The input cut at every kNextMarker (one part when there is none).
std::vector<std::string_view> split_parts(std::string_view input);

/// The bytes one input stands for, produced piece by piece (never held whole in memory).
class byte_stream {
 public:
  byte_stream(std::string_view input, std::size_t flood_cap);
  /// Bytes this stream sends in all.
  [[nodiscard]] std::size_t total() const { return total_; }
  [[nodiscard]] std::size_t remaining() const { return total_ - sent_; }
  /// The next bytes to send (at most `max`, at least 1 while any remain); advance() consumes them.
  [[nodiscard]] std::string_view peek(std::size_t max);
  void advance(std::size_t n) { sent_ += n; }

 private:
  std::string_view prefix_;
  std::string block_;  // UNIT repeated to about 64 KiB, so a flood goes out in large writes
  std::size_t unit_size_ = 0;
  std::size_t total_ = 0;
  std::size_t sent_ = 0;
};

/// Prints "iobench-fuzz: FINDING: <what>" and aborts, so that libFuzzer saves the input and
/// prints the stack. Use for a broken invariant that no sanitizer would see.
[[noreturn]] void finding(const std::string& what);

/// A listening socket on 127.0.0.1 on an ephemeral port. Throws std::system_error.
int listen_loopback(std::uint16_t& port);
/// A non-blocking socket connected to 127.0.0.1:port (blocking connect). Throws on failure.
int connect_loopback(std::uint16_t port);
/// A non-blocking accept with a deadline; -1 when nothing arrived in time.
int accept_until(int listen_fd, Clock::time_point deadline);

/// How an exchange on one connection ended.
struct exchange_result {
  std::size_t sent = 0;         ///< bytes of the stream written
  std::size_t received = 0;     ///< bytes read from the peer
  std::string head;             ///< the first bytes received (up to 256)
  bool write_stopped = false;   ///< the peer closed or reset while we were still writing
  bool write_stalled = false;   ///< the peer stopped reading; the rest was not sent
  bool closed = false;          ///< the peer closed (EOF) or reset before the deadline
  bool quiet_too_long = false;  ///< nothing at all arrived for `quiet` after we half-closed
};

/// What exchange() waits for.
struct exchange_limits {
  std::chrono::milliseconds stall{500};    ///< no write progress this long: stop writing
  std::chrono::milliseconds quiet{5000};   ///< after half-close: silence this long ends the wait
  std::chrono::milliseconds total{10000};  ///< the whole exchange, whatever happens
  bool half_close = true;                  ///< shutdown(SHUT_WR) once the stream is written
  bool read_until_close = true;  ///< false: stop once the stream is written (a server's side)
  /// Stop writing once the peer has sent anything: a flood is for what a peer does before it
  /// answers (a flood of pipelined requests would otherwise keep a server busy for minutes).
  bool stop_writing_on_answer = false;
};

/// Writes `out` on `fd` while reading whatever comes back (so neither side blocks on a full
/// buffer), then half-closes and reads until the peer closes, under `lim`. Does not close `fd`.
exchange_result exchange(int fd, byte_stream& out, const exchange_limits& lim);

/// Reads until "\r\n\r\n" (a request head), the peer closes, 64 KiB, or the deadline.
/// Returns false when no complete head arrived.
bool read_request_head(int fd, Clock::time_point deadline);

/// Closes `fd` if it is open and sets it to -1.
void close_fd(int& fd);

}  // namespace iobench::fuzz
