#include "impls/response_work.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "models.hpp"

namespace iobench {
namespace {

constexpr std::size_t kBufferBytes = 4096;
constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

const std::array<unsigned char, kBufferBytes>& buffer() {
  static const auto kBuffer = [] {
    std::array<unsigned char, kBufferBytes> b{};
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;  // any fixed sequence will do: the same everywhere
    for (auto& c : b) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<unsigned char>(x);
    }
    return b;
  }();
  return kBuffer;
}

std::atomic<std::uint64_t> worked{0};
std::atomic<std::uint64_t> sink{0};

}  // namespace

std::uint64_t run_work_passes(std::uint64_t passes) {
  const auto& b = buffer();
  std::uint64_t h = kFnvOffset;
  for (std::uint64_t p = 0; p < passes; ++p) {
    for (const unsigned char c : b) h = (h ^ c) * kFnvPrime;
  }
  sink.fetch_xor(h, std::memory_order_relaxed);
  return h;
}

std::chrono::nanoseconds work_pass_time() {
  static const std::chrono::nanoseconds kPass = [] {
    constexpr std::uint64_t kPasses = 200;  // about 1 ms a run on a 2020s x86 core
    auto best = std::chrono::nanoseconds::max();
    run_work_passes(kPasses);  // warm the caches and the frequency up
    for (int run = 0; run < 9; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      run_work_passes(kPasses);
      best = std::min(best, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now() - t0));
    }
    return std::max(std::chrono::nanoseconds{1}, best / static_cast<long>(kPasses));
  }();
  return kPass;
}

std::uint64_t work_passes(std::chrono::nanoseconds work) {
  if (work.count() <= 0) return 0;
  const double passes =
      std::round(static_cast<double>(work.count()) / static_cast<double>(work_pass_time().count()));
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(passes));
}

std::uint64_t responses_worked() { return worked.load(std::memory_order_relaxed); }

namespace detail {

void do_response_work(const Options& options, const Outcome& outcome) {
  if (!outcome.finished || outcome.error != ErrorKind::none) return;
  if (options.work.count() > 0) run_work_passes(work_passes(options.work));
  if (options.block.count() > 0) std::this_thread::sleep_for(options.block);
  worked.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace iobench
