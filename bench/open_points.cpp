#include "open_points.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <tuple>

#include "open_run.hpp"
#include "probes.hpp"

namespace iobench::bench {
namespace {

// The calibration batch: C requests a wave, enough waves to take about this long at the delay,
// at least kCalibrationWaves of them, at most kMaxCalibrationRequests in all.
constexpr double kCalibrationSeconds = 0.5;
constexpr std::size_t kCalibrationWaves = 10;
constexpr std::size_t kMaxCalibrationRequests = 20000;

std::string url_for(const std::string& base, const point& p) {
  return base + "/open?delay=" + std::to_string(p.delay_ms()) + "ms";
}

// Closed-loop throughput of the point's model at its delay and concurrency, after one warm-up
// wave (connections opened, code paths warm).
double closed_loop_rate(const point& p, const std::string& base,
                        std::atomic<std::size_t>* progress) {
  Options o;
  o.concurrency = p.effective_concurrency();
  o.completed = progress;
  auto fetcher = make_fetcher(p.impl, o);
  const double delay_s = std::max(p.delay_ms(), 1) / 1000.0;
  const auto waves = std::max<std::size_t>(
      kCalibrationWaves, static_cast<std::size_t>(std::ceil(kCalibrationSeconds / delay_s)));
  const std::size_t n = std::min(kMaxCalibrationRequests, waves * o.concurrency);
  const std::vector<Request> warm(o.concurrency, Request{url_for(base, p)});
  fetcher->fetch_all(warm);
  const std::vector<Request> batch(n, Request{url_for(base, p)});
  const auto t0 = Clock::now();
  const auto out = fetcher->fetch_all(batch);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto failed =
      std::count_if(out.begin(), out.end(), [](const Outcome& x) { return !x.succeeded(); });
  if (failed > 0) {
    throw std::runtime_error("calibrating " + p.impl + ": " + std::to_string(failed) + " of " +
                             std::to_string(n) + " requests failed");
  }
  return static_cast<double>(n) / wall;
}

void set(benchmark::UserCounters& c, const std::string& prefix, const histogram& ns) {
  const auto p = percentiles_ms::of(ns);
  c[prefix + "_p50_ms"] = p.p50;
  c[prefix + "_p90_ms"] = p.p90;
  c[prefix + "_p99_ms"] = p.p99;
  c[prefix + "_p999_ms"] = p.p999;
  c[prefix + "_max_ms"] = p.max;
}

}  // namespace

void calibrate_open_points(std::vector<point>& points, const std::string& base,
                           const std::function<bool(const point&)>& selected,
                           std::atomic<std::size_t>* progress) {
  // Each measurement's rate, or why it failed.
  struct measurement {
    double rate = 0;
    std::string error;
  };
  std::map<std::tuple<std::string, int, std::size_t>, measurement> measured;
  for (auto& p : points) {
    if (!p.open_loop() || p.rate > 0 || !selected(p)) continue;
    const auto key = std::make_tuple(p.impl, p.delay_ms(), p.effective_concurrency());
    auto it = measured.find(key);
    if (it == measured.end()) {
      std::fprintf(stderr,
                   "iobench: open loop: measuring %s's closed-loop throughput at %d ms, "
                   "C = %zu\n",
                   p.impl.c_str(), p.delay_ms(), p.effective_concurrency());
      measurement m;
      try {
        m.rate = closed_loop_rate(p, base, progress);
      } catch (const std::exception& e) {
        m.error = std::string("measuring the closed-loop throughput failed: ") + e.what();
        std::fprintf(stderr, "iobench: open loop: %s\n", m.error.c_str());
      }
      it = measured.emplace(key, std::move(m)).first;
    }
    if (!it->second.error.empty()) {
      p.error = it->second.error;
      continue;
    }
    p.closed_loop_rate = it->second.rate;
    p.rate = std::max(1.0, std::round(p.rate_fraction * it->second.rate));
  }
}

void run_open_point(benchmark::State& state, const point& p, const placement& where) {
  Options o;
  o.concurrency = p.effective_concurrency();
  o.completed = where.progress;
  auto fetcher = make_fetcher(p.impl, o);
  open_step step;
  step.rate = p.rate;
  step.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(p.duration_s));
  open_result r;
  double cpu_s = 0;
  double wall_s = 0;
  for (auto _ : state) {
    const double cpu0 = process_cpu_s();
    const auto t0 = Clock::now();
    r = run_open_step(*fetcher, url_for(where.base, p), step);
    wall_s += std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_s += process_cpu_s() - cpu0;
  }
  const auto& s = r.summary;
  auto& c = state.counters;
  c["target_rate"] = s.target_rate;
  c["achieved_rate"] = s.achieved_rate;
  c["goodput"] = s.goodput;
  c["scheduled"] = static_cast<double>(s.scheduled);
  c["sent"] = static_cast<double>(s.sent);
  c["succeeded"] = static_cast<double>(s.succeeded);
  c["failed"] = static_cast<double>(s.failed);
  c["incomplete"] = static_cast<double>(s.incomplete);
  c["late_sends"] = static_cast<double>(s.late_sends);
  c["peak_queue"] = static_cast<double>(s.peak_queue);
  c["stopped_early"] = s.stopped_early ? 1 : 0;
  set(c, "latency", s.latency_ns);
  set(c, "service", s.service_ns);
  set(c, "send_lag", s.lag_ns);
  c["errors"] = static_cast<double>(s.failed);
  c["rate_fraction"] = p.rate_fraction;
  c["closed_loop_rate"] = p.closed_loop_rate;
  c["duration_s"] = p.duration_s;
  c["client_cpu_util"] = wall_s > 0 ? cpu_s / (wall_s * where.client_cpus) : 0;
  server_evidence(c, where, read_server_stats(where.base));
  std::string label;
  if (s.stopped_early) label = "stopped early: a send fell 10 s behind";
  if (s.incomplete > 0) {
    label += (label.empty() ? "" : "; ") + std::to_string(s.incomplete) + " incomplete";
  }
  if (!label.empty()) state.SetLabel(label);
}

}  // namespace iobench::bench
