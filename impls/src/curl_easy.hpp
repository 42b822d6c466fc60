// Internal: a libcurl easy handle set up the same way for every libcurl-based model, and the one
// mapping from libcurl's result codes to ErrorKind.
#pragma once

#include <curl/curl.h>

#include <string>

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

  [[nodiscard]] CURL* handle() const { return handle_; }
  /// Points the handle at `url` and zeroes the counters. Call before each transfer.
  void prepare(const std::string& url);
  /// Fills `out` (status, body bytes, error) from the finished transfer's result.
  void finish(CURLcode code, Outcome& out) const;
  /// One blocking transfer (curl_easy_perform), stamped with start and end.
  Outcome perform(const Request& request);

  /// Gives the handle a connection cache of its own for one batch (blocking use only):
  /// libcurl has no call that closes an easy handle's cached connections, but cleaning up a
  /// share that holds them does.
  void begin_batch();
  /// Closes the batch's connections.
  void end_batch();

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self);
  CURL* handle_ = nullptr;
  CURLSH* share_ = nullptr;
  response_guard guard_;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace iobench::detail
