// MiniMalloc's CSV format for placement instances, so that instances and results compare directly
// with MiniMalloc and the public placement benchmarks:
//
//   id,lower,upper,size[,offset]
//   0,0,10,4096
//
// One buffer a row, live on [lower, upper); `offset`, when present, is a placement. Columns may
// come in any order; each named column appears once. Ids are any text without a comma (MiniMalloc's
// own example uses b1, b2, ...) and are written back exactly as they were read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensorplan/mem/place/problem.h"

namespace tensorplan::mem::place {

struct CsvInstance {
  // Buffers in file order; alignment 1. A buffer's id is its id column where every id is an
  // integer, else its row (0-based).
  Problem problem;
  std::vector<std::string> ids;  // the id column as written, one per buffer
  // The offset column, one per buffer, when the file has one (e.g. a solution to check).
  std::optional<std::vector<std::int64_t>> offsets;
};

// Parses CSV text. `source` names the input in messages ("FILE:LINE: ..."). Strict: the header must
// name id, lower, upper and size (and optionally offset) and nothing else; every row has as many
// fields as the header, all integers but the id; ids non-empty and unique; lower < upper;
// 0 < size; offsets >= 0; sizes
// add up to at most 2^62 bytes, so no arena arithmetic overflows.
// Blank lines are skipped; "\r\n" line ends are accepted. Throws Error on the first problem.
CsvInstance parse_csv(const std::string& text, const std::string& source);

// Reads a file (plain or .gz) with parse_csv.
CsvInstance read_csv(const std::string& path);

// The CSV text of a placed problem: id,lower,upper,size,offset, one row per buffer in order. The
// ids are `ids` when given (one per buffer), else the buffers' numeric ids.
std::string format_csv(const Problem& problem, const std::vector<std::int64_t>& offsets,
                       const std::vector<std::string>& ids = {});

// Writes format_csv atomically (temporary file, then rename).
void write_csv(const std::string& path, const Problem& problem,
               const std::vector<std::int64_t>& offsets, const std::vector<std::string>& ids = {});

}  // namespace tensorplan::mem::place
