// The references as data: reading bench/reference/*.ref (docs/reference_protocol.md,
// "Manifests").
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "reference.hpp"

namespace iobench::bench {
namespace {

// One manifest (docs/reference_protocol.md, "Manifests"): `key = value` lines, '#' comments.
// Throws std::invalid_argument naming the file and line.
reference_info read_manifest(const std::filesystem::path& file, std::deque<std::string>& text,
                             int& order) {
  static const std::regex kName("[A-Za-z0-9_.-]+");
  static const std::set<std::string, std::less<>> kRuntimes{"python", "node", "go", "command"};
  std::ifstream in(file);
  if (!in) throw std::invalid_argument(file.string() + ": cannot be read");
  std::map<std::string, std::string, std::less<>> fields;
  int line_no = 0;
  const auto where = [&] { return file.string() + ":" + std::to_string(line_no) + ": "; };
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(where() + "expected key = value");
    auto trim = [](std::string v) {
      v.erase(0, v.find_first_not_of(" \t\r"));
      v.erase(v.find_last_not_of(" \t\r") + 1);
      return v;
    };
    std::string key = trim(line.substr(0, eq));
    static const std::set<std::string, std::less<>> kKeys{
        "name",    "order",     "summary",   "runtime", "program", "command", "one_at_a_time",
        "library", "mechanism", "interface", "needs",   "package", "https"};
    if (!kKeys.contains(key)) throw std::invalid_argument(where() + "unknown key '" + key + "'");
    if (fields.contains(key)) throw std::invalid_argument(where() + "'" + key + "' given twice");
    fields[key] = trim(line.substr(eq + 1));
  }
  line_no = 0;
  for (const char* key : {"name", "summary", "runtime", "library", "mechanism", "interface"}) {
    if (fields[key].empty()) throw std::invalid_argument(where() + "no " + key);
  }
  const std::string& name = fields["name"];
  if (!std::regex_match(name, kName)) {
    throw std::invalid_argument(where() + "'" + name + "' is not a name: letters, digits, '_', " +
                                "'.' and '-'");
  }
  const std::string& runtime = fields["runtime"];
  if (!kRuntimes.contains(runtime)) {
    throw std::invalid_argument(where() + "runtime '" + runtime +
                                "' is not one of python, node, go, command");
  }
  if ((runtime == "command") == fields["command"].empty() ||
      (runtime != "command") == fields["program"].empty()) {
    throw std::invalid_argument(where() + (runtime == "command" ? "a command, and no program"
                                                                : "a program, and no command"));
  }
  if (const std::string& mech = fields["mechanism"];
      mech != "one_at_a_time" && mech != "thread_per_request" && mech != "event_loop" &&
      mech != "event_loop_per_core") {
    throw std::invalid_argument(where() + "mechanism '" + mech + "' is not one of one_at_a_time, " +
                                "thread_per_request, event_loop, event_loop_per_core");
  }
  const std::string& one = fields["one_at_a_time"];
  const std::string& https = fields["https"];
  for (const auto& [key, value] : {std::pair{"one_at_a_time", one}, std::pair{"https", https}}) {
    if (!value.empty() && value != "true" && value != "false") {
      throw std::invalid_argument(where() + key + " is true or false");
    }
  }
  order = 100;
  if (const auto& o = fields["order"]; !o.empty()) {
    const auto [end, ec] = std::from_chars(o.data(), o.data() + o.size(), order);
    if (ec != std::errc{} || end != o.data() + o.size()) {
      throw std::invalid_argument(where() + "order is a whole number");
    }
  }
  auto keep = [&text](const std::string& v) -> std::string_view { return text.emplace_back(v); };
  reference_info r{{keep(name), keep(fields["summary"]), one == "true", false, false,
                    keep(fields["library"]), keep(fields["mechanism"]), keep(fields["interface"])},
                   reference_runner::child};
  r.info.https = https == "true";
  r.runtime = keep(runtime);
  r.program = keep(fields["program"]);
  r.needs = keep(fields["needs"]);
  r.package = keep(fields["package"]);
  r.command = keep(fields["command"]);
  return r;
}

}  // namespace

std::vector<reference_info> read_manifests(const std::filesystem::path& dir,
                                           std::deque<std::string>& text) {
  std::vector<std::pair<int, reference_info>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".ref") continue;
    int order = 0;
    found.emplace_back(0, read_manifest(entry.path(), text, order));
    found.back().first = order;
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.info.name < b.second.info.name;
  });
  std::set<std::string_view> names{kWrk};
  for (const auto& [order, r] : found) {
    if (!names.insert(r.info.name).second) {
      throw std::invalid_argument(dir.string() + ": two references are named '" +
                                  std::string(r.info.name) + "'");
    }
  }
  std::vector<reference_info> rows;
  for (auto& [order, r] : found) rows.push_back(r);
  return rows;
}

}  // namespace iobench::bench
