// Test helpers: a real mock server on port 0 for the life of a scope, and a blocking client
// over plain POSIX sockets whose every read has a deadline, so that a broken server fails a test
// instead of hanging it. Responses are parsed with Beast's parser, fed by hand.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "impls/fetcher.hpp"
#include "mock_server/server.hpp"

namespace iobench::test {

using namespace std::chrono_literals;

/// Starts an in-process mock server on 127.0.0.1:0; stops it (no grace) on scope exit.
class running_server {
 public:
  explicit running_server(mock::server_config cfg = {});
  ~running_server();
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  [[nodiscard]] std::uint16_t port() const { return server_.port(); }
  [[nodiscard]] std::string url() const { return server_.url(); }
  [[nodiscard]] mock::stats_snapshot stats() const { return server_.stats(); }
  mock::server& get() { return server_; }

 private:
  mock::server server_;
};

/// A parsed HTTP response.
struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const;
  /// The `dur` of a Server-Timing metric ("delay" or "late"), in ms; nullopt if absent.
  [[nodiscard]] std::optional<double> timing_ms(std::string_view metric) const;
};

/// How a read ended.
enum class read_end { response, eof, reset, timeout, bad };

struct read_result {
  read_end end = read_end::bad;
  std::optional<http_response> response;
  std::string raw;        ///< every byte received for this read
  std::size_t reads = 0;  ///< recv() calls that returned data
};

/// A blocking client connection to 127.0.0.1:port.
class client_socket {
 public:
  explicit client_socket(std::uint16_t port);
  ~client_socket();
  client_socket(client_socket&& other) noexcept;
  client_socket& operator=(client_socket&&) = delete;
  client_socket(const client_socket&) = delete;
  client_socket& operator=(const client_socket&) = delete;

  /// Sends all of `bytes` (throws on failure).
  void send(std::string_view bytes);
  /// Sends `chunk` again and again until the peer has something to say (an answer, EOF or a
  /// reset), a send fails, or `limit` bytes are sent; returns the bytes sent. For endless input:
  /// it never blocks on a full send buffer while an answer waits.
  std::size_t send_until_answered(std::string_view chunk, std::size_t limit);
  /// Sends "GET target HTTP/1.1" with Host (and `extra` header lines).
  void send_get(std::string_view target, std::string_view extra = {});
  /// Reads one response; bytes past it stay buffered for the next call (pipelining).
  read_result read_response(std::chrono::milliseconds timeout = 10s, bool head_request = false);
  /// Reads until the peer closes, resets, or the timeout passes.
  read_result read_until_close(std::chrono::milliseconds timeout = 10s);
  /// GET + read_response.
  read_result get(std::string_view target, std::chrono::milliseconds timeout = 10s);
  /// Closes gracefully (FIN).
  void close();

 private:
  // Waits for data; returns bytes read (0 on EOF), -1 on reset, -2 on timeout.
  long recv_some(std::string& out, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string pending_;
};

/// One request per target over `connections` keep-alive connections, in rounds; results in
/// target order.
std::vector<read_result> fetch_batch(std::uint16_t port, const std::vector<std::string>& targets,
                                     std::size_t connections);

/// The fixture of a suite run over every model (INSTANTIATE_TEST_SUITE_P over fetcher_names()):
/// a model this machine refuses (impls' model_unavailable(), e.g. uring where io_uring is off) is
/// skipped with the reason, never failed.
class model_test : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override;
};

/// A test name for a model (fetcher_names()), for INSTANTIATE_TEST_SUITE_P: gtest names allow
/// letters, digits and '_' only, model names '.' and '-' too.
std::string model_test_name(const ::testing::TestParamInfo<std::string_view>& info);

/// The fixture of a suite run over every model and both schemes (INSTANTIATE_TEST_SUITE_P over
/// schemes()): each test runs over http, and again over https for each model that speaks it
/// (model_info::https) against servers made with config(), trusted by the options trusting()
/// gives. Skips a model this machine refuses, as model_test does; tls_test.cpp covers the
/// models that refuse https.
class scheme_test : public ::testing::TestWithParam<std::tuple<std::string_view, bool>> {
 protected:
  void SetUp() override;
  void TearDown() override;
  [[nodiscard]] std::string_view model() const { return std::get<0>(GetParam()); }
  [[nodiscard]] bool https() const { return std::get<1>(GetParam()); }
  /// `c` for this test's scheme: with https, TLS with a certificate authority made at the
  /// server's start and written to a file this test removes.
  mock::server_config config(mock::server_config c = {});
  /// `o` trusting the authority of every server config() made so far and of trust() (none
  /// over http).
  Options trusting(Options o = {});
  /// Makes trusting() trust the authority in `ca` too (a server not made with config()).
  void trust(std::filesystem::path ca) { others_.push_back(std::move(ca)); }

 private:
  std::vector<std::filesystem::path> files_;   // authorities, then the bundles trusting() wrote
  std::vector<std::filesystem::path> others_;  // trust()'s, owned by their servers
};

/// Every model, over http and over https: scheme_test's parameters.
::testing::internal::ParamGenerator<std::tuple<std::string_view, bool>> schemes();

/// model_test_name, with "_https" for the https runs.
std::string scheme_test_name(
    const ::testing::TestParamInfo<std::tuple<std::string_view, bool>>& info);

/// The bytes of "GET target HTTP/1.1" with a Host and nothing else.
std::string get_request(std::string_view target);

/// The body the server sends for `bytes` bytes (its deterministic pattern).
std::string expected_body(std::size_t bytes);

/// An argv for code that reads a command line: "prog" then `args`.
struct argv_builder {
  explicit argv_builder(std::initializer_list<const char*> args) : args_{"prog"} {
    args_.insert(args_.end(), args.begin(), args.end());
  }
  [[nodiscard]] int argc() const { return static_cast<int>(args_.size()); }
  char** argv() { return const_cast<char**>(args_.data()); }

 private:
  std::vector<const char*> args_;
};

/// Polls `pred` every 10 ms until true or `limit` passes; returns the last value. For waiting on
/// the server's counters, never for asserting durations.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s);

}  // namespace iobench::test

#include <thread>

template <typename Pred>
bool iobench::test::eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}
