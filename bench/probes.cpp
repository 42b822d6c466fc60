#include "probes.hpp"

#include <malloc.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace iobench::bench {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::optional<long> status_in(const std::string& path, std::string_view field) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(field)) continue;
    const auto value = trim(std::string_view(line).substr(field.size()));
    long v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{}) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

}  // namespace

double cpu_seconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return cpu_seconds(usage);
}

context_switches csw_of(const rusage& usage) {
  return {static_cast<double>(usage.ru_nvcsw), static_cast<double>(usage.ru_nivcsw)};
}

context_switches process_csw() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return csw_of(usage);
}

std::optional<long> status_field(std::string_view field) {
  return status_in("/proc/self/status", field);
}

std::optional<long> status_field_of(pid_t pid, std::string_view field) {
  return status_in("/proc/" + std::to_string(pid) + "/status", field);
}

std::optional<double> process_cpu_s_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // utime is field 14, stime 15
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  if (!fields) return std::nullopt;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double rss_mib() { return static_cast<double>(status_field("VmRSS:").value_or(0)) / 1024; }

double peak_rss_mib() { return static_cast<double>(status_field("VmHWM:").value_or(0)) / 1024; }

double thread_count() { return static_cast<double>(status_field("Threads:").value_or(0)); }

void reset_peak_rss() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  return cpu_model_from(text.str());
}

std::string cpu_model_from(std::string_view cpuinfo) {
  while (!cpuinfo.empty()) {
    const auto eol = cpuinfo.find('\n');
    const std::string_view line = cpuinfo.substr(0, eol);
    cpuinfo.remove_prefix(eol == std::string_view::npos ? cpuinfo.size() : eol + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || trim(line.substr(0, colon)) != "model name") continue;
    const auto value = trim(line.substr(colon + 1));
    if (!value.empty()) return std::string(value);
  }
  return "unknown";
}

}  // namespace iobench::bench
