#include "curl_easy.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "models.hpp"

namespace iobench::detail {
namespace {

// libcurl's own words for a timeout during connection setup (lib/connect.c); a timeout after
// that is a request timeout.
bool timed_out_connecting(const char* message) {
  const std::string_view m(message);
  return m.starts_with("Connection timed out") || m.starts_with("Failed to connect") ||
         m.find("Connection timeout") != std::string_view::npos;
}

// The one mapping from a finished transfer to fetcher.hpp's table. What libcurl's codes cannot
// say, the guard can: whether the final status line had arrived (a receive error after it cut a
// response short; before it, the connection failed), and why a callback aborted.
ErrorKind classify(CURLcode code, const char* message, const response_guard& guard,
                   bool request_sent) {
  if (code != CURLE_OK && !guard.violation().empty()) return ErrorKind::bad_response;
  // libcurl takes a close before the empty line that ends a head for the end of the head, and
  // reports what it has (an interim 1xx, a final status with part of its fields) as the answer.
  if (code == CURLE_OK && !guard.complete()) {
    return guard.started() ? ErrorKind::bad_response : ErrorKind::reset;
  }
  switch (code) {
    case CURLE_OK:
      return ErrorKind::none;
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    // TLS: the handshake failed, the server's certificate is not trusted or names another host,
    // or the --cacert file cannot be used. The connection never carried a request.
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return ErrorKind::connect;
    case CURLE_UNSUPPORTED_PROTOCOL:
      // Before the request: a scheme other than http. After it: an answer that is not HTTP/1.x
      // ("Received HTTP/0.9", "Unsupported response code", "Unsupported HTTP version").
      return request_sent ? ErrorKind::bad_response : ErrorKind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return timed_out_connecting(message) ? ErrorKind::connect : ErrorKind::timeout;
    case CURLE_GOT_NOTHING:  // closed with no final status line ("Empty reply from server")
      return ErrorKind::reset;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      // A socket error, or the chunk parser's "... in chunked-encoding" (always after the status
      // line), or libcurl's own header limit.
      return guard.started() ? ErrorKind::bad_response : ErrorKind::reset;
    default:
      // PARTIAL_FILE (cut short), WEIRD_SERVER_REPLY (a bad field line), OUT_OF_MEMORY (a header
      // line over libcurl's 100 KiB), BAD_CONTENT_ENCODING, FILESIZE_EXCEEDED, ...
      return ErrorKind::bad_response;
  }
}

}  // namespace

void ensure_curl_global() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

// libcurl before 8.1.0 keeps a pointer to the last response header it stored (to unfold a
// folded line into it) after the next transfer on the handle has freed that header: a response
// whose first header line is folded (starts with a space or a tab) then makes libcurl read and
// realloc freed memory, a crash (curl issue #11101, fixed in 8.1.0; found by
// fuzz/fuzz_fetchers.cpp on Debian 12's 7.88.1). There, each transfer gets a fresh handle; its
// connection still comes from the same cache, the multi handle's (see perform()).
bool header_pointer_outlives_header() {
  static const bool affected = curl_version_info(CURLVERSION_NOW)->version_num < 0x080100;
  return affected;
}

curl_easy::curl_easy(const Options& options)
    : connect_timeout_(options.connect_timeout),
      keep_alive_(options.keep_alive),
      cacert_(options.cacert),
      insecure_(options.insecure),
      fresh_handles_(header_pointer_outlives_header()),
      connect_budget_(std::min(options.connect_timeout, options.timeout)),
      timeout_(options.timeout),
      timeout_set_(options.timeout) {
  ensure_curl_global();
  sessions_ = curl_share_init();
  if (sessions_ == nullptr) throw std::runtime_error("curl_share_init failed");
  curl_share_setopt(sessions_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  configure_new_handle();
}

void curl_easy::configure_new_handle() {
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw std::runtime_error("curl_easy_init failed");
  timeout_set_ = timeout_;
  curl_easy_setopt(handle_, CURLOPT_SHARE, sessions_);  // one thread: no locks needed
  curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);      // no SIGALRM for timeouts: we use threads
  curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!cacert_.empty()) curl_easy_setopt(handle_, CURLOPT_CAINFO, cacert_.c_str());
  if (insecure_) {
    curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_easy_setopt(handle_, CURLOPT_USERAGENT, "iobench");
  curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
  curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &curl_easy::on_body);
  curl_easy_setopt(handle_, CURLOPT_WRITEDATA, this);
  // Responses are held to fetcher.hpp's table and limits (response_guard.hpp): the header
  // callback hands each head line to the judge; without transfer decoding the write callback
  // sees the body as sent, chunked framing and trailers included, which libcurl then does not
  // store (it still decodes the chunks to find their end and counts the decoded bytes).
  curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &curl_easy::on_header);
  curl_easy_setopt(handle_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(handle_, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  // HTTP/1.1 only, as the coroutine model speaks. libcurl's default (HTTP/2 where TLS offers it)
  // also lets it multiplex over a cleartext connection whose server claimed "HTTP/2.0" in a
  // status line: two requests then share an HTTP/1.1 connection and swap their responses.
  curl_easy_setopt(handle_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // "" disables proxies, those from http_proxy/all_proxy too: the coroutine model never uses
  // one, and a measurement through a proxy would measure the proxy.
  curl_easy_setopt(handle_, CURLOPT_PROXY, "");
  curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(handle_, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(handle_, CURLOPT_OPENSOCKETFUNCTION, &curl_easy::on_open_socket);
  curl_easy_setopt(handle_, CURLOPT_OPENSOCKETDATA, this);
  if (!keep_alive_) {
    curl_easy_setopt(handle_, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(handle_, CURLOPT_FRESH_CONNECT, 1L);
  }
}

curl_easy::~curl_easy() {
  end_batch();
  curl_easy_cleanup(handle_);
  curl_share_cleanup(sessions_);  // after the last handle that used it
}

// A return value other than size * n makes libcurl abort with CURLE_WRITE_ERROR; the guard
// keeps the reason.
std::size_t curl_easy::on_body(char* data, std::size_t size, std::size_t n, void* self) {
  return static_cast<curl_easy*>(self)->guard_.on_body({data, size * n}) ? size * n : 0;
}

std::size_t curl_easy::on_header(char* data, std::size_t size, std::size_t n, void* self) {
  return static_cast<curl_easy*>(self)->guard_.on_header({data, size * n}) ? size * n : 0;
}

curl_socket_t curl_easy::on_open_socket(void* self_ptr, curlsocktype /*purpose*/,
                                        curl_sockaddr* address) {
  // What libcurl does without this callback, keeping errno: libcurl reports a failed socket()
  // only as "Couldn't connect to server".
  auto& self = *static_cast<curl_easy*>(self_ptr);
  for (;;) {
    const curl_socket_t s = ::socket(address->family, address->socktype, address->protocol);
    self.socket_errno_ = s == CURL_SOCKET_BAD ? errno : 0;
    const bool no_descriptor = self.socket_errno_ == EMFILE || self.socket_errno_ == ENFILE;
    if (!no_descriptor || self.gate_ == nullptr || !self.gate_->wait(self.connect_deadline_)) {
      return s;
    }
  }
}

void curl_easy::prepare(const std::string& url) {
  if (fresh_handles_ && used_) {
    curl_easy_cleanup(handle_);  // out of any multi handle here: the caller removed it
    configure_new_handle();
  }
  used_ = true;
  guard_.reset();
  socket_errno_ = 0;
  connect_deadline_ = Clock::now() + connect_budget_;
  error_[0] = '\0';
  curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
}

void curl_easy::set_reuse(bool search_cache, bool keep_connection) {
  curl_easy_setopt(handle_, CURLOPT_FRESH_CONNECT, search_cache ? 0L : 1L);
  curl_easy_setopt(handle_, CURLOPT_FORBID_REUSE, keep_connection ? 0L : 1L);
}

void curl_easy::finish(CURLcode code, Outcome& out) const {
  out.body_bytes = static_cast<std::size_t>(guard_.body_bytes());  // chunked framing excluded
  long status = 0;
  curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &status);
  long request_bytes = 0;
  curl_easy_getinfo(handle_, CURLINFO_REQUEST_SIZE, &request_bytes);
  long connects = 0;
  curl_off_t connect_us = 0;
  curl_off_t first_byte_us = 0;
  curl_easy_getinfo(handle_, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(handle_, CURLINFO_CONNECT_TIME_T, &connect_us);
  curl_easy_getinfo(handle_, CURLINFO_STARTTRANSFER_TIME_T, &first_byte_us);
  out.new_connection = connects > 0;
  if (out.new_connection) out.connect_time = std::chrono::microseconds(connect_us);
  out.first_byte = std::chrono::microseconds(first_byte_us);  // 0 when no byte came
  out.error = classify(code, error_, guard_, request_bytes > 0);
  out.status = out.error == ErrorKind::none ? static_cast<int>(status) : 0;
  if (out.error != ErrorKind::none) {
    out.detail = !guard_.violation().empty() ? guard_.violation()
                 : code == CURLE_OK  ? (guard_.started() ? "the response was cut short by the close"
                                                         : "closed before a final status line")
                 : error_[0] != '\0' ? error_
                                     : curl_easy_strerror(code);
    if (socket_errno_ != 0) {
      out.detail =
          std::string("socket(): ") + std::strerror(socket_errno_) + " (" + out.detail + ")";
    }
  }
}

bool curl_easy::end_by(Clock::time_point deadline) {
  auto timeout = timeout_;
  bool shortened = false;
  if (deadline != Clock::time_point::max()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left < timeout) {
      timeout = std::max(left, std::chrono::milliseconds{1});  // 0 would mean "no timeout"
      shortened = true;
    }
  }
  if (timeout != timeout_set_) {  // a setopt per transfer only when it changes
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    timeout_set_ = timeout;
  }
  return shortened;
}

Outcome curl_easy::perform(const Request& request, Clock::time_point deadline) {
  Outcome out;
  prepare(request.url);
  const bool shortened = end_by(deadline);
  if (batch_ == nullptr) begin_batch();
  out.start = Clock::now();
  const CURLcode code = run_blocking();
  out.end = Clock::now();
  finish(code, out);
  cut_off(shortened, out);
  return out;
}

CURLcode curl_easy::run_blocking() {
  // What curl_easy_perform() does (lib/easy.c: a multi handle with this one transfer, perform
  // and poll until it is done), on a multi handle of our own: curl_easy_perform's lives in the
  // easy handle and goes with it, and with it the connection cache, the DNS cache and the
  // wake-up socket pair, which a fresh handle per transfer (see above) would pay for each time.
  if (curl_multi_add_handle(batch_, handle_) != CURLM_OK) return CURLE_FAILED_INIT;
  CURLcode result = CURLE_OK;
  CURLMcode m = CURLM_OK;
  bool done = false;
  while (!done && m == CURLM_OK) {
    int running = 0;
    m = curl_multi_perform(batch_, &running);
    if (m != CURLM_OK) break;
    if (running == 0) {
      int left = 0;
      if (const CURLMsg* msg = curl_multi_info_read(batch_, &left); msg != nullptr) {
        result = msg->data.result;
        done = true;
      }
      continue;
    }
    m = curl_multi_poll(batch_, nullptr, 0, 1000, nullptr);
  }
  curl_multi_remove_handle(batch_, handle_);
  if (!done) result = m == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
  return result;
}

void curl_easy::begin_batch() {
  end_batch();
  batch_ = curl_multi_init();
  if (batch_ == nullptr) throw std::runtime_error("curl_multi_init failed");
}

void curl_easy::end_batch() {
  if (batch_ == nullptr) return;
  curl_multi_cleanup(batch_);  // closes the connections it holds
  batch_ = nullptr;
}

}  // namespace iobench::detail
