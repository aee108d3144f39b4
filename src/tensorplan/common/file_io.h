// Whole-file reading and crash-safe writing. Files ending in ".gz" are (de)compressed with zlib.
#pragma once

#include <string>
#include <vector>

namespace tensorplan {

// Reads the whole file; transparently gunzips a gzip stream. Throws Error naming the path.
std::string read_file(const std::string& path);

// Writes `contents` to a temporary file beside `path` and renames it over `path`, so readers never
// see a half-written file. Gzips when `path` ends in ".gz". Throws Error naming the path.
void write_file_atomic(const std::string& path, const std::string& contents);

// Checks, before any of them is written, that each output path can be written: its directory
// exists and is writable, it is not a directory itself, and no two paths are the same. Empty
// paths and "-" (stdout) are skipped. Throws Error naming the first path that cannot be.
void check_output_paths(const std::vector<std::string>& paths);

bool ends_with(const std::string& text, const std::string& suffix);

}  // namespace tensorplan
