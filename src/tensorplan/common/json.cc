#include "tensorplan/common/json.h"

#include <string>
#include <unordered_set>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/text.h"

namespace tensorplan {

namespace {

// A JSON value as an error message shows it: strings quoted and escaped, everything shortened.
std::string describe(const Json& value) {
  if (value.is_string()) return quote_input(value.get_ref<const std::string&>());
  const std::string text = value.dump();
  return text.size() <= 80 ? text : text.substr(0, 80) + "...";
}

}  // namespace

namespace {

// nlohmann's DOM builder, refusing duplicate keys: nlohmann keeps the last one silently, so a file
// could say two things at once (e.g. two offsets for one tensor). The keys of each open object
// are kept while it is parsed. (A SAX wrapper: the parser callback is twice as slow.)
class RefuseDuplicateKeys {
 public:
  RefuseDuplicateKeys(Json& doc, const std::string& path) : dom_(doc), path_(path) {}
  bool null() { return dom_.null(); }
  bool boolean(bool value) { return dom_.boolean(value); }
  bool number_integer(Json::number_integer_t value) { return dom_.number_integer(value); }
  bool number_unsigned(Json::number_unsigned_t value) { return dom_.number_unsigned(value); }
  bool number_float(Json::number_float_t value, const Json::string_t& text) {
    return dom_.number_float(value, text);
  }
  bool string(Json::string_t& value) { return dom_.string(value); }
  bool binary(Json::binary_t& value) { return dom_.binary(value); }
  bool start_object(std::size_t size) {
    keys_.emplace_back();
    return dom_.start_object(size);
  }
  bool key(Json::string_t& value) {
    if (!keys_.back().insert(value).second)
      fail("{}: duplicate key {} in a JSON object", path_, quote_input(value));
    return dom_.key(value);
  }
  bool end_object() {
    keys_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t size) { return dom_.start_array(size); }
  bool end_array() { return dom_.end_array(); }
  template <typename Exception>  // the exact type: the DOM builder throws it as it is
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    return dom_.parse_error(position, token, e);
  }

 private:
  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  const std::string& path_;
  std::vector<std::unordered_set<std::string>> keys_;
};

}  // namespace

void check_json_text(const std::string& path, const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0')
      fail("{}: NUL byte at byte {} (not allowed in JSON; is this a binary file?)", path, i);
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        fail("{}: JSON nested deeper than {} levels at byte {}", path, kMaxJsonDepth, i);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

Json parse_json(const std::string& path, const std::string& text) {
  // nlohmann's parser stops at a NUL byte as at the end of the text (the rest was ignored), and
  // deep nesting overflows the stack of the recursive functions that copy or print a value.
  check_json_text(path, text);
  Json doc;
  RefuseDuplicateKeys sax(doc, path);
  try {
    Json::sax_parse(text, &sax);
    return doc;
  } catch (const Json::parse_error& e) {
    fail("{}: not valid JSON at byte {}", path, e.byte);
  } catch (const Json::out_of_range&) {  // found by fuzzing: 1e168461223 escaped as a crash
    fail("{}: a number in it is too large (beyond a double)", path);
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
    fail("{}: format is {}, expected \"{}\"", path, describe(*it), format);
  auto v = doc.find("version");
  if (v == doc.end() || !v->is_number_integer())
    fail("{}: missing integer \"version\" for format \"{}\"", path, format);
  if (v->get<std::int64_t>() != version)
    fail("{}: {} version {} is not supported (this tensorplan reads version {})", path, format,
         describe(*v), version);
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
      fail("{}: {}: integer {} is too large", path, where, describe(value));
    return static_cast<std::int64_t>(value.get<std::uint64_t>());
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  fail("{}: {}: expected an integer, got {}", path, where, describe(value));
}

std::int64_t get_int(const std::string& path, const Json& object, const std::string& where,
                     const std::string& key) {
  return as_int(path, require(path, object, where, key), where + "/" + key);
}

std::string get_string(const std::string& path, const Json& object, const std::string& where,
                       const std::string& key) {
  const Json& value = require(path, object, where, key);
  if (!value.is_string())
    fail("{}: {}/{}: expected a string, got {}", path, where, key, describe(value));
  return value.get<std::string>();
}

const Json& get_array(const std::string& path, const Json& object, const std::string& where,
                      const std::string& key) {
  const Json& value = require(path, object, where, key);
  if (!value.is_array()) fail("{}: {}/{}: expected an array", path, where, key);
  return value;
}

}  // namespace tensorplan
