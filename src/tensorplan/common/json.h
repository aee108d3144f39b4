// JSON helpers: parsing with file context, typed field access that names the JSON path on error,
// and the "format"/"version" header every tensorplan file carries.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tensorplan {

using Json = nlohmann::json;

// Deepest nesting of arrays and objects that tensorplan reads (its files nest a few levels).
inline constexpr int kMaxJsonDepth = 512;

// Refuses text that nlohmann's parser would mishandle: NUL bytes (it stops reading there) and
// nesting deeper than kMaxJsonDepth. Errors name the file and byte offset.
void check_json_text(const std::string& path, const std::string& text);

// Parses `text` (the contents of `path`) after check_json_text; a syntax error names the file
// and byte offset.
Json parse_json(const std::string& path, const std::string& text);

// Reads, decompresses if needed, and parses a JSON file.
Json load_json(const std::string& path);

// Checks `doc["format"] == format` and `doc["version"] == version`.
void check_header(const std::string& path, const Json& doc, const std::string& format, int version);

// Typed access to `object[key]`. `where` is the JSON path of `object` (e.g. "/tensors/3"),
// used with `path` in error messages. Missing keys and wrong types throw Error.
const Json& require(const std::string& path, const Json& object, const std::string& where,
                    const std::string& key);
std::int64_t get_int(const std::string& path, const Json& object, const std::string& where,
                     const std::string& key);
std::string get_string(const std::string& path, const Json& object, const std::string& where,
                       const std::string& key);
const Json& get_array(const std::string& path, const Json& object, const std::string& where,
                      const std::string& key);

// Converts a JSON value to a 64-bit integer, rejecting floats, strings and out-of-range numbers.
std::int64_t as_int(const std::string& path, const Json& value, const std::string& where);

}  // namespace tensorplan
