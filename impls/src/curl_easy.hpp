// Internal: a libcurl easy handle set up the same way for every libcurl-based model, and the one
// mapping from libcurl's result codes to ErrorKind.
#pragma once

#include <curl/curl.h>

#include <string>

#include "descriptor_gate.hpp"
#include "impls/fetcher.hpp"
#include "response_guard.hpp"

namespace iobench::detail {

/// curl_global_init, once per process, before any handle exists (thread-safe).
void ensure_curl_global();

/// One configured easy handle: GET, NOSIGNAL (threads), the timeouts, the keep-alive policy, no
/// proxy, and header and write callbacks that keep nothing but hold each response to the table
/// in fetcher.hpp (response_guard).
class curl_easy {
 public:
  explicit curl_easy(const Options& options);
  ~curl_easy();
  curl_easy(const curl_easy&) = delete;
  curl_easy& operator=(const curl_easy&) = delete;

  /// The handle of the current transfer. NOTE: prepare() may replace it (see fresh_handles_);
  /// ask again after each prepare().
  [[nodiscard]] CURL* handle() const { return handle_; }
  /// Points the handle at `url` and zeroes the counters. Call before each transfer, with the
  /// handle out of any multi handle.
  void prepare(const std::string& url);
  /// For the next transfer only (keep-alive handles): may it take a cached connection, and may
  /// its connection go back to the cache when it ends? NOTE: for drivers that know the answer
  /// is no; each `false` spares libcurl a walk over its connection cache (curl_multi.cpp).
  void set_reuse(bool search_cache, bool keep_connection);
  /// Fills `out` (status, body bytes, error) from the finished transfer's result.
  void finish(CURLcode code, Outcome& out) const;
  /// For the next transfer only: its total timeout ends at `deadline` if that comes before
  /// Options::timeout would (an open-loop run's end). Returns whether it was shortened, for
  /// cut_off(). Call after prepare().
  bool end_by(Clock::time_point deadline);
  /// Marks `out` unfinished when its transfer timed out only because end_by() shortened it: the
  /// run ended, the request did not fail.
  static void cut_off(bool shortened, Outcome& out) {
    if (shortened && out.error == ErrorKind::timeout) out.finished = false;
  }
  /// One blocking transfer (as curl_easy_perform does it), stamped with start and end, ended by
  /// `deadline` at the latest (see end_by). Its connection is kept for the batch's next one.
  Outcome perform(const Request& request, Clock::time_point deadline = Clock::time_point::max());
  /// From now on, a socket() that finds no descriptor waits at `gate` (blocking use only) until
  /// the connect timeout, rather than failing the transfer at once. NOTE: `gate` must outlive
  /// the handle's transfers.
  void wait_for_descriptors(descriptor_gate* gate) { gate_ = gate; }

  /// Gives the handle a connection cache of its own for one batch of blocking transfers: a
  /// multi handle that perform() drives (cleaning it up closes the batch's connections, for
  /// which libcurl has no call on an easy handle). perform() begins one if none has begun.
  void begin_batch();
  /// Closes the batch's connections.
  void end_batch();

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self);
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);
  void configure_new_handle();
  CURLcode run_blocking();
  std::chrono::milliseconds connect_timeout_;  // Options::connect_timeout
  bool keep_alive_;
  std::string cacert_;  // Options::cacert
  bool insecure_;       // Options::insecure
  bool fresh_handles_;  // a new handle per transfer: libcurl < 8.1.0 (curl_easy.cpp)
  bool used_ = false;   // the handle has had a transfer
  CURL* handle_ = nullptr;
  // The handle's TLS sessions, kept across the fresh handles of libcurl < 8.1.0, so that a new
  // connection resumes the last one's session as libcurl >= 8.1.0 does with one handle.
  CURLSH* sessions_ = nullptr;
  CURLM* batch_ = nullptr;  // blocking use: the multi handle perform() drives
  response_guard guard_;
  int socket_errno_ = 0;  // why the last socket() failed, 0 if none did
  descriptor_gate* gate_ = nullptr;
  std::chrono::milliseconds connect_budget_;  // connection setup may take this long
  std::chrono::milliseconds timeout_;         // Options::timeout
  std::chrono::milliseconds timeout_set_;     // what CURLOPT_TIMEOUT_MS holds now
  Clock::time_point connect_deadline_;        // for this transfer
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace iobench::detail
