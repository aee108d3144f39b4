#include "tensorplan/common/json.h"

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"

namespace tensorplan {

Json parse_json(const std::string& path, const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail("{}: not valid JSON at byte {}", path, e.byte);
  }
}

Json load_json(const std::string& path) { return parse_json(path, read_file(path)); }

void check_header(const std::string& path, const Json& doc, const std::string& format,
                  int version) {
  if (!doc.is_object()) fail("{}: expected a JSON object with \"format\": \"{}\"", path, format);
  auto it = doc.find("format");
  if (it == doc.end() || !it->is_string())
    fail("{}: missing \"format\" (expected \"{}\")", path, format);
  if (it->get<std::string>() != format)
    fail("{}: format is \"{}\", expected \"{}\"", path, it->get<std::string>(), format);
  auto v = doc.find("version");
  if (v == doc.end() || !v->is_number_integer())
    fail("{}: missing integer \"version\" for format \"{}\"", path, format);
  if (v->get<std::int64_t>() != version)
    fail("{}: {} version {} is not supported (this tensorplan reads version {})", path, format,
         v->dump(), version);
}

const Json& require(const std::string& path, const Json& object, const std::string& where,
                    const std::string& key) {
  if (!object.is_object()) fail("{}: {}: expected an object", path, where.empty() ? "/" : where);
  auto it = object.find(key);
  if (it == object.end()) fail("{}: {}/{}: missing", path, where, key);
  return *it;
}

std::int64_t as_int(const std::string& path, const Json& value, const std::string& where) {
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      fail("{}: {}: integer {} is too large", path, where, value.dump());
    return static_cast<std::int64_t>(value.get<std::uint64_t>());
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  fail("{}: {}: expected an integer, got {}", path, where, value.dump());
}

std::int64_t get_int(const std::string& path, const Json& object, const std::string& where,
                     const std::string& key) {
  return as_int(path, require(path, object, where, key), where + "/" + key);
}

std::string get_string(const std::string& path, const Json& object, const std::string& where,
                       const std::string& key) {
  const Json& value = require(path, object, where, key);
  if (!value.is_string()) fail("{}: {}/{}: expected a string, got {}", path, where, key, value.dump());
  return value.get<std::string>();
}

const Json& get_array(const std::string& path, const Json& object, const std::string& where,
                      const std::string& key) {
  const Json& value = require(path, object, where, key);
  if (!value.is_array()) fail("{}: {}/{}: expected an array", path, where, key);
  return value;
}

}  // namespace tensorplan
