#include "runners.hpp"

#include <algorithm>
#include <cstdio>

#include "impls/summary.hpp"
#include "open_points.hpp"
#include "probes.hpp"
#include "reference.hpp"
#include "server_process.hpp"

namespace iobench::bench {

void measured::add(std::span<const Outcome> outcomes) {
  for (const auto& out : outcomes) {
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(out.latency()).count());
    errors += out.succeeded() ? 0 : 1;
  }
}

void skip_run(benchmark::State& state, const std::string& why) {
  std::string line;
  for (const char c : why) {
    if (c == '\n' || c == '\r') {
      if (!line.empty() && !line.ends_with("; ")) line += "; ";
    } else {
      line += c;
    }
  }
  while (line.ends_with(" ") || line.ends_with(";")) line.pop_back();
  state.SkipWithError(line.c_str());
  if (state.iterations() == 0) {  // 0 only before the loop started (an errored loop counts all)
    for (auto _ : state) {
    }
  }
}

void run_model(benchmark::State& state, const point& p, std::span<const Request> requests,
               const Options& o, measured& m) {
  auto fetcher = make_fetcher(p.impl, o);
  reset_peak_rss();
  m.rss_base_mib = rss_mib();
  m.threads = thread_count() - m.own_threads;
  const double cpu_before = process_cpu_s();
  const auto csw_before = process_csw();
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const auto outcomes = fetcher->fetch_all(requests);
    m.wall_s += std::chrono::duration<double>(Clock::now() - t0).count();
    m.add(outcomes);
    m.threads = std::max(m.threads, thread_count() - m.own_threads);
  }
  m.cpu_s = process_cpu_s() - cpu_before;
  const auto csw_after = process_csw();
  m.vol_csw = csw_after.voluntary - csw_before.voluntary;
  m.invol_csw = csw_after.involuntary - csw_before.involuntary;
  m.peak_rss_mib = peak_rss_mib();
}

void run_child(benchmark::State& state, const point& p, std::span<const Request> requests,
               const Options& o, measured& m, const placement& where) {
  // What the protocol itself may cost the child per batch beyond the batch it times: reading
  // the URLs, writing the outcomes (JSON), and a clock tick of /proc's 10 ms on each side.
  constexpr double kProtocolSlackS = 0.02;
  child_runner child(p.impl, o);
  m.kernel_cpu = true;
  bool first = true;
  double claimed_complete = 0;
  double batches = 0;
  for (auto _ : state) {
    const auto b = child.run(requests);
    if (where.progress != nullptr) where.progress->fetch_add(1, std::memory_order_relaxed);
    state.SetIterationTime(b.wall_s);
    m.wall_s += b.wall_s;
    m.cpu_s += b.cpu_s;
    m.kernel_cpu_s += b.kernel_cpu_s;
    m.vol_csw += b.vol_csw;
    m.invol_csw += b.invol_csw;
    m.peak_rss_mib = std::max(m.peak_rss_mib, b.kernel_peak_rss_mib);
    if (first) m.rss_base_mib = b.rss_start_mib;  // the interpreter before any batch
    first = false;
    m.threads = std::max(m.threads, b.threads);
    m.add(b.outcomes);
    batches += 1;
    for (const auto& out : b.outcomes) claimed_complete += out.error == ErrorKind::none ? 1 : 0;
  }
  // Trust, but check: what the child says against what the server and the kernel saw.
  const double served = read_server_stats(where.base).requests - where.before.requests;
  if (claimed_complete > served) {
    skip_run(state, p.impl + " claims " + std::to_string(static_cast<long>(claimed_complete)) +
                        " complete responses, but the server answered " +
                        std::to_string(static_cast<long>(served)) +
                        " requests: a child's outcomes must be what it fetched");
    return;
  }
  const double slack = kProtocolSlackS * batches;
  if (m.cpu_s > m.kernel_cpu_s + slack || m.cpu_s + slack < m.kernel_cpu_s / 2) {
    char why[256];
    std::snprintf(why, sizeof why,
                  " reports %.3f s of CPU for its batches, where the kernel counted %.3f s",
                  m.cpu_s, m.kernel_cpu_s);
    skip_run(state, p.impl + why);
  }
}

// Was the server the bottleneck? Its CPU use between the two /stats reads that bracket the
// benchmark (so the ratio is a true utilisation of that window), and the kernel's count of
// connections dropped because a listen queue was full (a dropped SYN costs the client a 1 s
// retransmission). Left out where the server cannot tell (an older mock_server).
void server_evidence(benchmark::UserCounters& c, const placement& where,
                     const server_counters& after) {
  const double window = std::chrono::duration<double>(Clock::now() - where.since).count();
  const auto& before = where.before;
  if (after.cpus > 0 && window > 0) {
    c["server_cpu_util"] = (after.cpu_s - before.cpu_s) / (window * after.cpus);
  }
  if (before.listen_overflows >= 0 && after.listen_overflows >= 0) {
    c["listen_overflows"] = after.listen_overflows - before.listen_overflows;
  }
  c["server_max_in_flight"] = after.max_in_flight;
  c["server_late_p99_ms"] = after.late_p99_ms;
}

namespace {

// A /tls:1 row's handshakes and resumptions per request, from the server's counts. Each /stats
// read since `before` came over a connection of its own, a handshake that is not the row's (the
// control calls never resume): the one that read `after`, and a child's check of what the server
// answered (run_child).
void tls_counters(benchmark::UserCounters& c, const point& p, const placement& where,
                  const server_counters& after, double requests) {
  if (!p.tls || requests <= 0) return;
  const double reads = kind_of(p) == row_kind::child ? 2 : 1;
  const double handshakes = after.tls_handshakes - where.before.tls_handshakes - reads;
  c["tls_handshakes_per_req"] = std::max(0.0, handshakes) / requests;
  c["tls_resumed_per_req"] = (after.tls_resumed - where.before.tls_resumed) / requests;
}

}  // namespace

void fill_counters(benchmark::State& state, const point& p, measured& m, const placement& where) {
  const auto iterations = static_cast<double>(state.iterations());
  const double total_requests = iterations * static_cast<double>(p.requests);
  std::sort(m.latencies_ms.begin(), m.latencies_ms.end());
  auto& c = state.counters;
  c["req_per_s"] = m.wall_s > 0 ? total_requests / m.wall_s : 0;
  c["p50_ms"] = percentile(m.latencies_ms, 0.50);
  c["p90_ms"] = percentile(m.latencies_ms, 0.90);
  c["p99_ms"] = percentile(m.latencies_ms, 0.99);
  c["max_ms"] = m.latencies_ms.empty() ? 0 : m.latencies_ms.back();
  c["efficiency"] = efficiency(ideal_makespan_s(p), m.wall_s / iterations);
  c["ideal_s"] = ideal_makespan_s(p);  // what efficiency is measured against
  c["cpu_us_per_req"] = total_requests > 0 ? m.cpu_s * 1e6 / total_requests : 0;
  if (m.kernel_cpu && total_requests > 0) {
    c["kernel_cpu_us_per_req"] = m.kernel_cpu_s * 1e6 / total_requests;
  }
  c["vol_csw_per_req"] = total_requests > 0 ? m.vol_csw / total_requests : 0;
  c["invol_csw_per_req"] = total_requests > 0 ? m.invol_csw / total_requests : 0;
  c["peak_rss_mib"] = m.peak_rss_mib;
  // What the process held before the batch (freed thread stacks glibc keeps, caches, the
  // interpreter): the report shows peak - base as what the batch itself added.
  c["rss_base_mib"] = m.rss_base_mib;
  c["threads"] = m.threads;
  c["errors"] = static_cast<double>(m.errors);
  c["client_cpu_util"] = m.wall_s > 0 ? m.cpu_s / (m.wall_s * where.client_cpus) : 0;
  const server_counters after = read_server_stats(where.base);
  server_evidence(c, where, after);
  tls_counters(c, p, where, after, total_requests);
  std::string label = p.label;
  if (m.errors > 0) {
    label += (label.empty() ? "" : "; ") + std::to_string(m.errors) + " requests failed";
  }
  if (!label.empty()) state.SetLabel(label);
}

void run_wrk_point(benchmark::State& state, const point& p, const std::string& url,
                   std::chrono::seconds duration, const placement& where) {
  const auto wrk = find_wrk();
  if (!wrk) {
    skip_run(state, "wrk is not installed (apt-get install wrk): no ceiling rows");
    return;
  }
  // wrk needs a connection per thread.
  const auto threads = static_cast<std::size_t>(std::clamp(
      where.client_cpus, 1.0, static_cast<double>(std::max<std::size_t>(1, p.concurrency))));
  wrk_result r;
  for (auto _ : state) {
    r = run_wrk(*wrk, url, threads, p.concurrency, duration);
    state.SetIterationTime(r.req_per_s > 0 ? static_cast<double>(p.requests) / r.req_per_s : 0);
  }
  auto& c = state.counters;
  c["req_per_s"] = r.req_per_s;
  c["p50_ms"] = r.p50_ms;
  c["p90_ms"] = r.p90_ms;
  c["p99_ms"] = r.p99_ms;
  c["max_ms"] = r.max_ms;
  c["errors"] = r.errors;
  c["cpu_us_per_req"] = r.requests > 0 ? r.cpu_s * 1e6 / r.requests : 0;
  c["vol_csw_per_req"] = r.requests > 0 ? r.vol_csw / r.requests : 0;
  c["invol_csw_per_req"] = r.requests > 0 ? r.invol_csw / r.requests : 0;
  c["peak_rss_mib"] = r.peak_rss_mib;
  c["client_cpu_util"] = r.seconds > 0 ? r.cpu_s / (r.seconds * where.client_cpus) : 0;
  const server_counters after = read_server_stats(where.base);
  server_evidence(c, where, after);
  tls_counters(c, p, where, after, r.requests);
  state.SetLabel("wrk -t" + std::to_string(threads) + " -c" + std::to_string(p.concurrency) +
                 " -d" + std::to_string(duration.count()) +
                 "s: " + std::to_string(static_cast<long>(r.requests)) + " requests");
}

row_kind kind_of(const point& p) {
  if (p.open_loop()) return row_kind::open_loop;
  if (p.impl == kWrk) return row_kind::wrk;
  return is_child_reference(p.impl) ? row_kind::child : row_kind::model;
}

void run_row(benchmark::State& state, const row& r, measured& m) {
  switch (kind_of(r.p)) {
    case row_kind::open_loop:
      run_open_point(state, r.p, r.where);
      return;
    case row_kind::wrk:
      run_wrk_point(state, r.p, r.requests.front().url, r.wrk_duration, r.where);
      return;
    case row_kind::child:
      run_child(state, r.p, r.requests, r.options, m, r.where);
      break;
    case row_kind::model:
      run_model(state, r.p, r.requests, r.options, m);
      break;
  }
  if (!state.error_occurred()) fill_counters(state, r.p, m, r.where);
}

}  // namespace iobench::bench
