#include "beast_response.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <string>

#include "status_line.hpp"

namespace iobench::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

// The shortest end of a chunked body: "0\r\n\r\n".
constexpr std::size_t kLastChunkBytes = 5;

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace

void beast_response::start() {
  framing_.reset();
  header_bytes_ = 0;
  final_status_ = false;
  got_bytes_ = false;
  closed_ = false;
  next_head();
}

void beast_response::next_head() {
  parser_.emplace();
  // Not eager until the header is done, so that what a put() consumes is header bytes only.
  parser_->eager(false);
  parser_->body_limit(boost::none);
  parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));  // a backstop
  line_judged_ = false;  // Beast consumes a status line only once it is complete
}

ErrorKind beast_response::over_limit(Outcome& out) const {
  out.detail = "header section over " + std::to_string(kMaxHeaderBytes) + " bytes";
  return ErrorKind::bad_response;
}

std::optional<ErrorKind> beast_response::parse(beast::flat_buffer& buffer,
                                               Clock::time_point deadline, Outcome& out) {
  for (;;) {
    parser_type& parser = *parser_;
    while (!parser.is_done()) {
      if (buffer.size() > 0 && !got_bytes_) {
        out.first_byte = Clock::now() - out.start;
        got_bytes_ = true;
      }
      // Beast asserts that a last chunk it has begun to read ("0\r\n", waiting for the end of
      // the trailers) comes back with at least 5 bytes: one more byte after "0\r\n" failed its
      // assertion (the fuzz target, where bytes come a few at a time). Every chunked body ends
      // with at least those 5 ("0\r\n\r\n"), so fewer bytes in a chunked body are never its end,
      // and reading more first never holds back a response.
      const bool short_in_chunks =
          parser.is_header_done() && parser.chunked() && buffer.size() < kLastChunkBytes;
      if (buffer.size() > 0 && !short_in_chunks) {
        if (!line_judged_) {
          const status_line line = read_status_line(buffered(buffer));
          if (line.kind == status_line_kind::malformed) {
            out.detail = "malformed status line " + quoted_line(buffered(buffer));
            return ErrorKind::bad_response;
          }
          if (line.code == 101) {
            out.detail = "101 Switching Protocols, but no upgrade was asked for";
            return ErrorKind::bad_response;
          }
          line_judged_ = line.kind != status_line_kind::incomplete;
          final_status_ = final_status_ || line.kind == status_line_kind::final;
        }
        const bool in_header = !parser.is_header_done();
        error_code pec;
        const std::size_t used = parser.put(buffer.data(), pec);
        // What Beast takes, the judge takes too (response_framing.hpp): where Beast is more
        // lenient than RFC 9112 (and than libcurl's side of the judge), the judge decides.
        framing_.feed(buffered(buffer).substr(0, used));
        buffer.consume(used);
        if (framing_.bad()) {
          out.detail = framing_.violation();
          return ErrorKind::bad_response;
        }
        if (in_header) header_bytes_ += used;
        if (header_bytes_ > kMaxHeaderBytes) return over_limit(out);
        if (parser.is_header_done()) parser.eager(true);
        out.body_bytes = parser.get().body().bytes;
        if (pec && pec != http::error::need_more) {
          out.detail = "read: " + pec.message();
          return ErrorKind::bad_response;
        }
        if (parser.is_done()) break;
        if (!pec && used > 0) continue;  // progress, and more of the buffer to parse
      }
      // A server that sends without pause never lets a read wait for the deadline.
      if (Clock::now() >= deadline) {
        out.detail = "read: total timeout";
        return ErrorKind::timeout;
      }
      if (!parser.is_header_done() && header_bytes_ + buffer.size() >= kMaxHeaderBytes) {
        return over_limit(out);
      }
      if (room(buffer) == 0) {
        // Beast needs a whole chunk-size line, or the whole trailer section, in the buffer.
        out.detail = "chunk-size line or trailer section over " +
                     std::to_string(kBeastBufferLimit) + " bytes";
        return ErrorKind::bad_response;
      }
      return std::nullopt;
    }
    const auto& res = parser.get();
    if (res.result_int() / 100 == 1) {  // interim: skipped, its header counted
      next_head();
      continue;
    }
    out.status = static_cast<int>(res.result_int());
    out.body_bytes = res.body().bytes;
    return ErrorKind::none;
  }
}

ErrorKind beast_response::read_ended(const error_code& ec, Outcome& out) {
  // Everything received was parsed before this read, so the connection has ended the response:
  // complete if its body was delimited by the close; otherwise cut short past the final status
  // line, or a failed connection before it.
  parser_type& parser = *parser_;
  if (ec == asio::error::eof && parser.got_some()) {
    error_code eec;
    parser.put_eof(eec);
    if (!eec && parser.is_done() && parser.get().result_int() / 100 != 1) {
      closed_ = true;
      out.status = static_cast<int>(parser.get().result_int());
      out.body_bytes = parser.get().body().bytes;
      return ErrorKind::none;
    }
  }
  out.detail = "read: " + ec.message();
  if (ec == beast::error::timeout) return ErrorKind::timeout;
  return final_status_ ? ErrorKind::bad_response : ErrorKind::reset;
}

bool beast_response::keep_alive() const {
  return !closed_ && parser_ && parser_->is_done() && parser_->get().keep_alive();
}

}  // namespace iobench::detail
