#include "open_run.hpp"

#include <string_view>

namespace iobench::bench {
namespace {

namespace json = boost::json;

json::object percentiles(const histogram& ns) {
  const auto p = percentiles_ms::of(ns);
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"p999", p.p999}, {"max", p.max}};
}

void print_percentiles(std::FILE* out, std::string_view what, const histogram& ns) {
  const auto p = percentiles_ms::of(ns);
  std::fprintf(out, "  %-22s p50 %9.3f  p90 %9.3f  p99 %9.3f  p99.9 %9.3f  max %9.3f ms\n",
               std::string(what).c_str(), p.p50, p.p90, p.p99, p.p999, p.max);
}

}  // namespace

open_plan plan_open_step(const open_step& step) {
  open_plan p;
  p.start = Clock::now() + kScheduleLead;
  p.schedule = make_schedule(p.start, step.rate, step.duration, step.kind, step.seed);
  return p;
}

open_result run_open_step(Fetcher& fetcher, const std::string& url, const open_step& step) {
  const auto plan = plan_open_step(step);
  return run_open_step(fetcher, url, step, plan);
}

open_result run_open_step(Fetcher& fetcher, const std::string& url, const open_step& step,
                          const open_plan& plan) {
  open_result r;
  const std::vector<Request> requests(plan.schedule.size(), Request{url});
  schedule_limits limits;
  limits.deadline = plan.start + step.duration + step.grace;
  limits.max_lag = kMaxSendLag;
  r.run = fetcher.fetch_schedule(requests, plan.schedule, limits);
  r.summary = summarize_open(r.run, plan.schedule, step.duration, step.rate);
  return r;
}

json::object open_json(const open_step& step, const open_loop_summary& s) {
  json::object statuses;
  for (const auto& [status, n] : s.statuses) statuses[std::to_string(status)] = n;
  json::object errors;
  for (const auto& [kind, n] : s.errors) errors[kind] = n;
  return {{"mode", "open"},
          {"target_rate", s.target_rate},
          {"achieved_rate", s.achieved_rate},
          {"goodput", s.goodput},
          {"duration_s", s.duration_s},
          {"arrival", to_string(step.kind)},
          {"scheduled", s.scheduled},
          {"sent", s.sent},
          {"succeeded", s.succeeded},
          {"failed", s.failed},
          {"incomplete", s.incomplete},
          {"late_sends", s.late_sends},
          {"peak_queue", s.peak_queue},
          {"stopped_early", s.stopped_early},
          {"latency_ms", percentiles(s.latency_ns)},
          {"service_ms", percentiles(s.service_ns)},
          {"send_lag_ms", percentiles(s.lag_ns)},
          {"statuses", std::move(statuses)},
          {"errors", std::move(errors)}};
}

void print_open(std::FILE* out, const std::string& impl, std::size_t concurrency,
                const open_step& step, const open_loop_summary& s) {
  std::fprintf(out, "Open loop:\n");
  std::fprintf(out, "  Impl:          %s (concurrency %zu)\n", impl.c_str(), concurrency);
  std::fprintf(out, "  Offered:       %.2f requests/sec for %.2f secs (%s arrivals)\n",
               s.target_rate, s.duration_s, std::string(to_string(step.kind)).c_str());
  std::fprintf(out, "  Achieved:      %.2f sends/sec, goodput %.2f/sec\n", s.achieved_rate,
               s.goodput);
  std::fprintf(out, "  Scheduled:     %zu, sent %zu, succeeded %zu, failed %zu, incomplete %zu\n",
               s.scheduled, s.sent, s.succeeded, s.failed, s.incomplete);
  std::fprintf(out,
               "  Late sends:    %zu (more than %lld ms behind the schedule), peak queue %zu\n",
               s.late_sends, static_cast<long long>(kLateSend.count()), s.peak_queue);
  if (s.stopped_early) {
    std::fprintf(out, "  Stopped early: a send fell more than %lld s behind the schedule\n",
                 static_cast<long long>(kMaxSendLag.count()));
  }
  std::fprintf(out, "\nLatency:\n");
  print_percentiles(out, "from intended send", s.latency_ns);
  print_percentiles(out, "service (from send)", s.service_ns);
  print_percentiles(out, "send lag", s.lag_ns);
  if (!s.statuses.empty()) {
    std::fprintf(out, "\nStatus code distribution:\n");
    for (const auto& [status, n] : s.statuses)
      std::fprintf(out, "  [%d] %zu responses\n", status, n);
  }
  bool any_error = false;
  for (const auto& [kind, n] : s.errors) any_error = any_error || n > 0;
  if (any_error) {
    std::fprintf(out, "\nError distribution:\n");
    for (const auto& [kind, n] : s.errors) {
      if (n > 0) std::fprintf(out, "  [%zu] %s\n", n, kind.c_str());
    }
  }
}

}  // namespace iobench::bench
