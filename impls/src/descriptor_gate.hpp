// Internal: where a blocking model's workers wait for a file descriptor (thread_pool.cpp's note
// says why they wait rather than fail).
#pragma once

#include <condition_variable>
#include <mutex>

#include "impls/fetcher.hpp"

namespace iobench::detail {

/// Where blocking transfers wait when the process has no file descriptor left for a socket, for
/// a model whose own connections free them (thread_pool, beast_pool): a failed socket() is retried
/// when one was freed, instead of failing the request.
class descriptor_gate {
 public:
  /// Waits until a descriptor may have been freed, or `deadline`; false once it has passed.
  bool wait(Clock::time_point deadline);
  /// One descriptor was freed (a connection was closed).
  void freed() { freed_.notify_one(); }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace iobench::detail
