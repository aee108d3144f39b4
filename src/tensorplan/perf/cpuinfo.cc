#include "tensorplan/perf/cpuinfo.h"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace tensorplan::perf {

std::map<std::string, std::string> first_processor_fields(const std::string& cpuinfo_path) {
  std::ifstream in(cpuinfo_path);
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) break;  // the end of the first processor's block
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
    const auto value = line.find_first_not_of(' ', colon + 1);
    fields[key] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::set<std::string> cpu_flags(const std::string& cpuinfo_path) {
  const auto fields = first_processor_fields(cpuinfo_path);
  std::set<std::string> flags;
  const auto it = fields.find("flags");
  if (it == fields.end()) return flags;
  std::istringstream words(it->second);
  std::string word;
  while (words >> word) flags.insert(word);
  return flags;
}

std::string cpu_model_name(const std::string& cpuinfo_path) {
  const auto fields = first_processor_fields(cpuinfo_path);
  const auto it = fields.find("model name");
  return it == fields.end() ? "" : it->second;
}

std::string cpu_identity(const std::string& cpuinfo_path) {
  const auto fields = first_processor_fields(cpuinfo_path);
  if (fields.empty()) return "";
  const auto field = [&](const char* key) {
    const auto it = fields.find(key);
    return it == fields.end() ? std::string("?") : it->second;
  };
  return fmt::format("{} (family {}, model {}, stepping {})", field("model name"),
                     field("cpu family"), field("model"), field("stepping"));
}

}  // namespace tensorplan::perf
