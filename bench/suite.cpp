#include "suite.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <queue>
#include <stdexcept>

#include "impls/fetcher.hpp"
#include "reference.hpp"

namespace iobench::bench {

std::span<const impl_info> all_impls() {
  // Rebuilt when add_reference() has added one since (that happens while the command line is
  // read, before anything keeps what this returns).
  static std::vector<impl_info> all;
  static std::size_t references_seen = 0;
  if (all.empty() || references().size() != references_seen) {
    all.clear();
    for (const auto& m : models()) all.push_back({m, false});
    for (const auto& r : references()) {
      all.push_back({r.info, true, r.runner == reference_runner::wrk ? "wrk" : r.runtime});
    }
    references_seen = references().size();
  }
  return all;
}

const impl_info* find_impl(std::string_view name) {
  const auto all = all_impls();
  const auto it = std::find_if(all.begin(), all.end(),
                               [name](const impl_info& i) { return i.info.name == name; });
  return it == all.end() ? nullptr : &*it;
}

bool one_at_a_time(std::string_view impl) {
  const impl_info* i = find_impl(impl);
  return i != nullptr && i->info.one_at_a_time;
}

std::vector<std::string> all_impl_names() {
  std::vector<std::string> names;
  for (const auto& i : all_impls()) names.emplace_back(i.info.name);
  return names;
}

std::size_t point::effective_concurrency() const {
  return one_at_a_time(impl) ? 1 : std::max<std::size_t>(1, concurrency);
}

int point::delay_ms() const {
  return delays_ms.empty() ? 0 : *std::max_element(delays_ms.begin(), delays_ms.end());
}

std::vector<int> point::request_delays_ms() const {
  std::vector<int> out(requests, 0);
  if (delays_ms.empty()) return out;
  for (std::size_t i = 0; i < requests; ++i) out[i] = delays_ms[i % delays_ms.size()];
  return out;
}

std::string benchmark_name(const point& p) {
  if (p.open_loop()) {
    // Before calibration the rate is a fraction ("rate:0.5x"); after, requests per second.
    char rate[32];
    if (p.rate > 0) {
      std::snprintf(rate, sizeof rate, "%lld", static_cast<long long>(std::llround(p.rate)));
    } else {
      std::snprintf(rate, sizeof rate, "%gx", p.rate_fraction);
    }
    return "open/" + p.impl + "/rate:" + rate + "/delay_ms:" + std::to_string(p.delay_ms()) +
           "/concurrency:" + std::to_string(p.concurrency);
  }
  std::string name = "fetch/" + p.impl + "/requests:" + std::to_string(p.requests) +
                     "/delay_ms:" + std::to_string(p.delay_ms()) +
                     "/concurrency:" + std::to_string(p.concurrency) +
                     "/bytes:" + std::to_string(p.bytes);
  if (!p.keep_alive) name += "/close";
  if (p.tls) name += "/tls:1";
  if (p.work_us > 0) name += "/work_us:" + std::to_string(p.work_us);
  if (p.block_us > 0) name += "/block_us:" + std::to_string(p.block_us);
  return name;
}

std::optional<point> parse_benchmark_name(std::string_view name) {
  // Google Benchmark may append "/repeats:N", "/real_time" or an aggregate suffix; stop at the
  // fields we know.
  auto take = [&name](std::string_view prefix) -> std::optional<std::string_view> {
    if (!name.starts_with(prefix)) return std::nullopt;
    name.remove_prefix(prefix.size());
    const auto slash = name.find('/');
    const auto field = name.substr(0, slash);
    name.remove_prefix(slash == std::string_view::npos ? name.size() : slash + 1);
    return field;
  };
  auto number = [](std::optional<std::string_view> s) -> std::optional<std::size_t> {
    if (!s || s->empty()) return std::nullopt;
    std::size_t v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc{} || end != s->data() + s->size()) return std::nullopt;
    return v;
  };
  point p;
  const auto impl = take("fetch/");
  if (!impl || impl->empty()) return std::nullopt;
  p.impl = std::string(*impl);
  const auto n = number(take("requests:"));
  const auto l = number(take("delay_ms:"));
  const auto c = number(take("concurrency:"));
  const auto b = number(take("bytes:"));
  if (!n || !l || !c || !b) return std::nullopt;
  p.requests = *n;
  p.delays_ms = {static_cast<int>(*l)};
  p.concurrency = *c;
  p.bytes = *b;
  p.keep_alive = !name.starts_with("close");
  if (!p.keep_alive) take("close");
  if (name.starts_with("tls:")) {
    const auto t = number(take("tls:"));
    if (!t || *t != 1) return std::nullopt;
    p.tls = true;
  }
  if (name.starts_with("work_us:")) {
    const auto w = number(take("work_us:"));
    if (!w) return std::nullopt;
    p.work_us = *w;
  }
  if (name.starts_with("block_us:")) {
    const auto bl = number(take("block_us:"));
    if (!bl) return std::nullopt;
    p.block_us = *bl;
  }
  return p;
}

double ideal_makespan_s(std::span<const int> delays_ms, std::size_t concurrency) {
  if (delays_ms.empty()) return 0;
  const std::size_t workers = std::max<std::size_t>(1, std::min(concurrency, delays_ms.size()));
  // Each request goes to the worker that frees up first, in request order.
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at;
  for (std::size_t i = 0; i < workers; ++i) free_at.push(0.0);
  double makespan = 0;
  for (const int d : delays_ms) {
    const double start = free_at.top();
    free_at.pop();
    const double end = start + d / 1000.0;
    makespan = std::max(makespan, end);
    free_at.push(end);
  }
  return makespan;
}

double ideal_makespan_s(const point& p) {
  if (p.open_loop()) return p.duration_s;  // a schedule, not a batch: it takes its duration
  const auto delays = p.request_delays_ms();
  return ideal_makespan_s(delays, p.effective_concurrency());
}

double efficiency(double ideal_s, double measured_s) {
  if (ideal_s <= 0 || measured_s <= 0) return 0;
  return ideal_s / measured_s;
}

}  // namespace iobench::bench
