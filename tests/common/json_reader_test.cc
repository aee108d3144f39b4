// What the JSON and gzip readers refuse: NUL bytes, deep nesting, duplicate keys, gzip with
// trailing garbage; and what they accept: multi-member gzip, as zcat does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"

namespace tensorplan {
namespace {

std::string scratch_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tensorplan-json-reader-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One gzip member holding `plain`.
std::string gzip_member(const std::string& plain) {
  const std::string path = scratch_file("member.gz");
  write_file_atomic(path, plain);  // gzips: the name ends in .gz
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(JsonReader, RefusesANulByteInsteadOfStoppingThere) {
  const std::string text = std::string("{\"a\": 1}") + '\0' + "{\"garbage\"";
  const std::string e = error_of([&] { parse_json("f.json", text); });
  EXPECT_NE(e.find("f.json: NUL byte at byte 8"), std::string::npos) << e;
  // Inside a string too (JSON strings spell it \u0000).
  EXPECT_NE(error_of([&] {
              parse_json("f.json", std::string("{\"a\": \"x\0y\"}", 12));
            }).find("NUL byte"),
            std::string::npos);
  EXPECT_EQ(parse_json("f.json", R"({"a": "x\u0000y"})")["a"].get<std::string>().size(), 3u);
}

TEST(JsonReader, RefusesDeepNestingWithAnErrorNotACrash) {
  const int depth = 60000;
  const std::string deep = "{\"size\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
  const std::string e = error_of([&] { parse_json("deep.json", deep); });
  EXPECT_NE(e.find("deep.json: JSON nested deeper than 512 levels at byte"), std::string::npos)
      << e;
  // At the limit it parses; brackets inside strings do not count.
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_NO_THROW(parse_json("ok.json", ok));
  EXPECT_NO_THROW(parse_json("s.json", "[\"" + std::string(10000, '[') + "\"]"));
}

TEST(JsonReader, RefusesDuplicateKeys) {
  const std::string e = error_of([] { parse_json("d.json", R"({"offsets": {"9": 0, "9": 64}})"); });
  EXPECT_NE(e.find("d.json: duplicate key \"9\""), std::string::npos) << e;
  // The same key in different objects is fine.
  EXPECT_NO_THROW(parse_json("d.json", R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}}])"));
}

TEST(GzipReader, ReadsEveryMemberAsZcatDoes) {
  const std::string path = scratch_file("two-members.json.gz");
  write_raw(path, gzip_member("{\"a\": ") + gzip_member("[1, 2]}"));
  EXPECT_EQ(read_file(path), "{\"a\": [1, 2]}");
  EXPECT_EQ(load_json(path)["a"].size(), 2u);
}

TEST(GzipReader, RefusesTrailingGarbageAndTruncation) {
  const std::string member = gzip_member("{\"a\": 1}");
  const std::string path = scratch_file("trailing.json.gz");
  write_raw(path, member + "garbage");
  std::string e = error_of([&] { read_file(path); });
  EXPECT_NE(e.find("7 bytes of trailing data after the gzip data at byte"), std::string::npos) << e;
  write_raw(path, member.substr(0, member.size() - 5));
  e = error_of([&] { read_file(path); });
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  write_raw(path, member + member.substr(0, 10));  // a second member cut short
  e = error_of([&] { read_file(path); });
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

}  // namespace
}  // namespace tensorplan
