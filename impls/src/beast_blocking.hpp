// Internal: Beast on a blocking socket, one request at a time: the client beast_sync runs on the
// caller's thread and beast_pool on each of its threads, as curl_easy is for sequential and
// thread_pool. It reads responses with beast_response.hpp, as the coroutine models do, and writes
// the same request (http_target.hpp), so a Beast model and its libcurl twin differ in the library
// alone, and the Beast models among themselves in how they wait.
//
// How it waits: the thread waits on its one socket, in poll(2) until the request's deadline. A
// read on a blocking socket has no deadline (SO_RCVTIMEO gives one per read, so a server dripping
// a byte at a time would never time out), so the socket is non-blocking and a read that finds
// nothing waits in poll: a syscall more per wait, as in libcurl's blocking transfers, which wait
// the same way.
//
// https (tls_client.hpp): OpenSSL on the same non-blocking socket, waiting in poll for what it
// asks for (a handshake or a read may need to write, and a write to read).
#pragma once

#include <sys/socket.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <memory>
#include <string>

#include "beast_response.hpp"
#include "descriptor_gate.hpp"
#include "http_target.hpp"
#include "impls/fetcher.hpp"
#include "tls_client.hpp"

namespace iobench::detail {

/// One connection and the Beast parser it reads with; the blocking client of the Beast models.
class beast_blocking {
 public:
  explicit beast_blocking(const Options& options)
      : options_(options), buffer_(beast_read_buffer()) {}
  ~beast_blocking() { close(); }
  beast_blocking(const beast_blocking&) = delete;
  beast_blocking& operator=(const beast_blocking&) = delete;

  /// One request, stamped with start and end, ended by `deadline` at the latest (an open-loop
  /// run's end: a request it cuts off is marked unfinished, not timed out). Its connection is kept
  /// for the next one when the response allows.
  Outcome perform(const Request& request, Clock::time_point deadline = Clock::time_point::max());
  /// A batch starts on the connection the last one left, if any.
  void begin_batch() {}
  /// Closes the connection: connections close with the batch.
  void end_batch() { close(); }
  /// From now on, a socket() that finds no descriptor waits at `gate` until the connect timeout,
  /// rather than failing the request (descriptor_gate.hpp). NOTE: `gate` must outlive the client.
  void wait_for_descriptors(descriptor_gate* gate) { gate_ = gate; }

 private:
  void fetch(const std::string& url, Outcome& out, Clock::time_point deadline);
  // Opens and connects a socket to target_; an error message, or empty.
  std::string connect(Clock::time_point deadline);
  // The TLS handshake on the connected socket (resuming session_ when it is for this server):
  // why it failed, or empty.
  std::string handshake(Clock::time_point deadline);
  // One send or recv, through OpenSSL over https: bytes moved, 0 at the end of the stream, or -1
  // with errno set (EAGAIN: wait for `events`, which it sets; EPROTO: a TLS failure).
  ssize_t send_some(const char* data, std::size_t size, short& events);
  ssize_t recv_some(char* data, std::size_t size, short& events);
  // Sends request_ whole: 0, or the errno it failed with (ETIMEDOUT: the deadline passed).
  int send_request(Clock::time_point deadline);
  ErrorKind read_response(Clock::time_point deadline, Outcome& out);
  // Waits until the socket is ready for `events` (poll's), or `deadline`: 1 when ready, 0 when
  // the deadline passed, -errno when poll failed.
  [[nodiscard]] int wait_for(short events, Clock::time_point deadline) const;
  void close();

  Options options_;
  descriptor_gate* gate_ = nullptr;
  int fd_ = -1;
  SSL* ssl_ = nullptr;                       // over fd_, for https
  std::unique_ptr<tls_client_context> tls_;  // made for the first https URL
  tls_session session_;                      // the last TLS connection's, offered to the next
  std::string peer_;                         // "host:port" fd_ is connected to; empty when closed
  // The last URL, what it parsed to and the request it makes: a batch repeats a few URLs.
  std::string url_;
  target target_;
  std::string key_;  // target_'s "host:port"
  std::string request_;
  std::string address_key_;  // the host:port address_ holds
  sockaddr_storage address_{};
  socklen_t address_size_ = 0;
  boost::beast::flat_buffer buffer_;
  beast_response response_;
};

}  // namespace iobench::detail
