// A Beast body that counts what it is given and keeps none of it: the coroutine models read
// responses into it (the size is measured), the mock server reads request bodies into it (they
// are dropped, so a client's body costs the server nothing but its read buffer).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>

namespace iobench {

/// A Beast body that counts bytes and keeps none: a 64 MiB response costs a counter, not a buffer.
struct counting_body {
  // Beast calls reader::init only when a body follows, so the count needs its own zero.
  struct value_type {
    std::uint64_t bytes = 0;
  };

  class reader {
   public:
    template <bool IsRequest, class Fields>
    reader(boost::beast::http::header<IsRequest, Fields>& /*header*/, value_type& count)
        : count_(count) {}
    void init(const boost::optional<std::uint64_t>& /*length*/, boost::system::error_code& ec) {
      count_.bytes = 0;
      ec = {};
    }
    template <class Buffers>
    std::size_t put(const Buffers& buffers, boost::system::error_code& ec) {
      const std::uint64_t n = boost::asio::buffer_size(buffers);
      count_.bytes += n;
      ec = {};
      return static_cast<std::size_t>(n);
    }
    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    value_type& count_;
  };
};

}  // namespace iobench
