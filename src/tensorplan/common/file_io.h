// Whole-file reading and crash-safe writing. Files ending in ".gz" are (de)compressed with zlib.
#pragma once

#include <string>

namespace tensorplan {

// Reads the whole file; transparently gunzips a gzip stream. Throws Error naming the path.
std::string read_file(const std::string& path);

// Writes `contents` to a temporary file beside `path` and renames it over `path`, so readers never
// see a half-written file. Gzips when `path` ends in ".gz". Throws Error naming the path.
void write_file_atomic(const std::string& path, const std::string& contents);

bool ends_with(const std::string& text, const std::string& suffix);

}  // namespace tensorplan
