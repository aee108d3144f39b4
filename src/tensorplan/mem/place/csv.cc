#include "tensorplan/mem/place/csv.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <string_view>
#include <unordered_map>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/text.h"

namespace tensorplan::mem::place {

namespace {

constexpr std::int64_t kMaxSize = std::int64_t{1} << 62;  // DESIGN.md: sizes up to 2^62

enum Column { kId, kLower, kUpper, kSize, kOffset, kColumns };
constexpr std::array<std::string_view, kColumns> kColumnNames = {"id", "lower", "upper", "size",
                                                                 "offset"};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const std::size_t comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

CsvInstance parse_csv(const std::string& text, const std::string& source) {
  std::string_view rest = text;
  int line_number = 0;
  // Returns false at the end of the text; skips blank lines.
  auto next_line = [&](std::string_view* line) {
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      *line = rest.substr(0, newline);
      rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
      ++line_number;
      if (!trim(*line).empty()) return true;
    }
    return false;
  };

  std::string_view line;
  if (!next_line(&line))
    fail("{}: empty file; expected a header id,lower,upper,size[,offset]", source);

  // Header: which column holds which field.
  std::array<int, kColumns> position;
  position.fill(-1);
  const auto header = split_fields(line);
  for (std::size_t i = 0; i < header.size(); ++i) {
    int column = -1;
    for (int c = 0; c < kColumns; ++c)
      if (header[i] == kColumnNames[c]) column = c;
    if (column < 0)
      fail("{}:{}: unknown column {} in header; expected id,lower,upper,size[,offset]", source,
           line_number, quote_input(header[i]));
    if (position[column] >= 0)
      fail("{}:{}: column {} appears twice in header", source, line_number, quote_input(header[i]));
    position[column] = static_cast<int>(i);
  }
  for (int c = kId; c <= kSize; ++c)
    if (position[c] < 0)
      fail("{}:{}: header lacks column '{}'; expected id,lower,upper,size[,offset]", source,
           line_number, kColumnNames[c]);
  const bool has_offset = position[kOffset] >= 0;

  CsvInstance instance;
  if (has_offset) instance.offsets.emplace();
  std::unordered_map<std::string, int> row_of_id;
  bool integer_ids = true;      // else every buffer's numeric id becomes its row
  std::int64_t total_size = 0;  // bounded so that no sum of sizes (max-live, height) overflows
  while (next_line(&line)) {
    const auto fields = split_fields(line);
    if (fields.size() != header.size())
      fail("{}:{}: {} fields, but the header has {} columns", source, line_number, fields.size(),
           header.size());
    std::array<std::int64_t, kColumns> value{};
    const std::string_view id = fields[position[kId]];
    if (id.empty()) fail("{}:{}: empty id", source, line_number);
    {
      const auto [stop, error] = std::from_chars(id.data(), id.data() + id.size(), value[kId]);
      // Only canonical integers ("9", not "09"): distinct ids must stay distinct numbers.
      if (error != std::errc() || stop != id.data() + id.size() || std::to_string(value[kId]) != id)
        integer_ids = false;
    }
    for (int c = kLower; c < kColumns; ++c) {
      if (position[c] < 0) continue;
      const std::string_view field = fields[position[c]];
      const char* end = field.data() + field.size();
      const auto [stop, error] = std::from_chars(field.data(), end, value[c]);
      if (field.empty() || error != std::errc() || stop != end)
        fail("{}:{}: {} {} is not a 64-bit integer", source, line_number, kColumnNames[c],
             quote_input(field));
    }
    Buffer buffer{value[kId], value[kLower], value[kUpper], value[kSize]};
    const std::string name = quote_name(id);
    if (buffer.lower >= buffer.upper)
      fail("{}:{}: buffer {}: lower {} is not below upper {} (lifetimes are [lower, upper))",
           source, line_number, name, buffer.lower, buffer.upper);
    if (buffer.size <= 0 || buffer.size > kMaxSize)
      fail("{}:{}: buffer {}: size {} is outside [1, 2^62]", source, line_number, name,
           buffer.size);
    if (has_offset && (value[kOffset] < 0 || value[kOffset] > kMaxSize))
      fail("{}:{}: buffer {}: offset {} is outside [0, 2^62]", source, line_number, name,
           value[kOffset]);
    total_size += buffer.size;
    if (total_size > kMaxSize)
      fail("{}:{}: the sizes add up to more than 2^62 bytes", source, line_number);
    const auto [seen, inserted] = row_of_id.emplace(std::string(id), line_number);
    if (!inserted)
      fail("{}:{}: duplicate id {} (first on line {})", source, line_number, name, seen->second);
    instance.problem.buffers.push_back(buffer);
    instance.ids.emplace_back(id);
    if (has_offset) instance.offsets->push_back(value[kOffset]);
  }
  if (!integer_ids)
    for (std::size_t b = 0; b < instance.problem.buffers.size(); ++b)
      instance.problem.buffers[b].id = static_cast<std::int64_t>(b);
  return instance;
}

CsvInstance read_csv(const std::string& path) { return parse_csv(read_file(path), path); }

std::string format_csv(const Problem& problem, const std::vector<std::int64_t>& offsets,
                       const std::vector<std::string>& ids) {
  if (offsets.size() != problem.buffers.size())
    fail("format_csv: {} offsets for {} buffers", offsets.size(), problem.buffers.size());
  if (!ids.empty() && ids.size() != problem.buffers.size())
    fail("format_csv: {} ids for {} buffers", ids.size(), problem.buffers.size());
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out), "id,lower,upper,size,offset\n");
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    const Buffer& b = problem.buffers[i];
    if (ids.empty())
      fmt::format_to(std::back_inserter(out), "{},", b.id);
    else
      fmt::format_to(std::back_inserter(out), "{},", ids[i]);
    fmt::format_to(std::back_inserter(out), "{},{},{},{}\n", b.lower, b.upper, b.size, offsets[i]);
  }
  return fmt::to_string(out);
}

void write_csv(const std::string& path, const Problem& problem,
               const std::vector<std::int64_t>& offsets, const std::vector<std::string>& ids) {
  write_file_atomic(path, format_csv(problem, offsets, ids));
}

}  // namespace tensorplan::mem::place
