#include "cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace iobench::bench {
namespace {

int parse_cpu(std::string_view s, std::string_view whole) {
  int v = -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < 0 || v >= CPU_SETSIZE) {
    throw std::invalid_argument("bad CPU list '" + std::string(whole) +
                                "': expected numbers and ranges like 0-3,8");
  }
  return v;
}

bool subset(const cpu_list& part, const cpu_list& of) {
  return std::includes(of.begin(), of.end(), part.begin(), part.end());
}

}  // namespace

cpu_list parse_cpu_list(std::string_view text) {
  cpu_list cpus;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto dash = item.find('-');
    const int lo = parse_cpu(item.substr(0, dash), text);
    const int hi = dash == std::string_view::npos ? lo : parse_cpu(item.substr(dash + 1), text);
    if (hi < lo)
      throw std::invalid_argument("bad CPU list '" + std::string(text) + "': " + std::string(item) +
                                  " runs backwards");
    for (int c = lo; c <= hi; ++c) cpus.push_back(c);
  }
  if (cpus.empty()) throw std::invalid_argument("empty CPU list");
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(std::span<const int> cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

partition plan_partition(const cpu_list& allowed, const std::optional<cpu_list>& server,
                         const std::optional<cpu_list>& client, bool no_pin, bool own_server) {
  const std::string all = format_cpu_list(allowed);
  for (const auto* list : {&server, &client}) {
    if (*list && !subset(**list, allowed)) {
      throw std::invalid_argument("CPUs " + format_cpu_list(**list) +
                                  " are not all among those this process may use (" + all + ")");
    }
  }
  if (server && client) {
    cpu_list both;
    std::set_intersection(server->begin(), server->end(), client->begin(), client->end(),
                          std::back_inserter(both));
    if (!both.empty()) {
      throw std::invalid_argument("--server-cpus and --client-cpus share CPUs " +
                                  format_cpu_list(both) + ": the point is that they do not");
    }
  }
  partition p;
  if (no_pin) {
    p.note = "not pinned (--no-pin): client and server share CPUs " + all;
    return p;
  }
  if (!own_server) {
    // The server is someone else's: the client may use everything it is given.
    p.client = client.value_or(allowed);
    return p;
  }
  if (allowed.size() < 2 && !(server && client)) {
    p.note = "not pinned: one CPU (" + all + ") for both client and server";
    return p;
  }
  const std::size_t half = std::max<std::size_t>(1, allowed.size() / 2);
  const cpu_list first(allowed.begin(), allowed.begin() + static_cast<std::ptrdiff_t>(half));
  const cpu_list rest(allowed.begin() + static_cast<std::ptrdiff_t>(half), allowed.end());
  auto minus = [&](const cpu_list& taken) {
    cpu_list left;
    std::set_difference(allowed.begin(), allowed.end(), taken.begin(), taken.end(),
                        std::back_inserter(left));
    return left;
  };
  p.server = server.value_or(client ? minus(*client) : first);
  p.client = client.value_or(server ? minus(*server) : rest);
  if (p.server.empty() || p.client.empty()) {
    throw std::invalid_argument("no CPU left for the " +
                                std::string(p.server.empty() ? "server" : "client") + " (of " +
                                all + ")");
  }
  return p;
}

void pin_to(std::span<const int> cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot run on CPUs " + format_cpu_list(cpus));
  }
}

}  // namespace iobench::bench
