#include "tensorplan/common/file_io.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tensorplan/common/error.h"

namespace tensorplan {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Decompresses every member of a gzip file (as zcat does: `cat a.gz b.gz` is one valid file) and
// refuses bytes after the last member that do not start another one.
std::string gunzip(const std::string& path, const std::string& compressed) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) fail("{}: cannot initialise zlib", path);
  struct End {
    z_stream* stream;
    ~End() { inflateEnd(stream); }
  } end{&stream};
  std::size_t fed = 0;  // bytes of `compressed` handed to zlib so far
  auto remaining = [&] { return compressed.size() - fed + stream.avail_in; };
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    if (stream.avail_in == 0 && fed < compressed.size()) {  // zlib counts in 32 bits: feed slices
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data() + fed));
      stream.avail_in = static_cast<uInt>(std::min<std::size_t>(compressed.size() - fed, 1u << 30));
      fed += stream.avail_in;
    }
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    const int status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
    if (status == Z_STREAM_END) {
      const std::size_t at = compressed.size() - remaining();
      if (remaining() == 0) return out;
      if (!is_gzip(compressed.substr(at, 2)))
        fail("{}: {} bytes of trailing data after the gzip data at byte {}", path, remaining(), at);
      if (inflateReset(&stream) != Z_OK) fail("{}: cannot reset zlib", path);
      continue;
    }
    if (status == Z_OK || status == Z_BUF_ERROR) {
      // No input left, and zlib wanted more (it did not fill the output): the member is cut short.
      if (remaining() == 0 && stream.avail_out != 0) fail("{}: truncated gzip data", path);
      continue;
    }
    fail("{}: corrupt gzip data ({})", path, stream.msg ? stream.msg : "bad data");
  }
}

std::string gzip(const std::string& path, const std::string& plain) {
  z_stream stream{};
  // 15 + 16: zlib window with a gzip header. Level 9: files are written once, read often.
  if (deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("{}: cannot initialise zlib", path);
  std::string out(deflateBound(&stream, plain.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) fail("{}: gzip compression failed", path);
  out.resize(stream.total_out);
  return out;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open ({})", path, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  std::string bytes = std::move(buffer).str();
  return is_gzip(bytes) ? gunzip(path, bytes) : bytes;
}

void check_output_paths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<fs::path> seen;
  for (const std::string& path : paths) {
    if (path.empty() || path == "-") continue;
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code error;
    if (!fs::is_directory(dir, error))
      fail("{}: cannot write: directory {} does not exist", path, dir.string());
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      fail("{}: cannot write: directory {} is not writable ({})", path, dir.string(),
           std::strerror(errno));
    if (fs::is_directory(target, error)) fail("{}: cannot write: it is a directory", path);
    const fs::path normal = fs::weakly_canonical(target, error);
    const fs::path key = error ? target.lexically_normal() : normal;
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      fail("{}: named as two outputs", path);
    seen.push_back(key);
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string bytes = ends_with(path, ".gz") ? gzip(path, contents) : contents;
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot write ({})", path, std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      fail("{}: write error", path);
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(temp.c_str());
    fail("{}: cannot rename temporary file ({})", path, std::strerror(err));
  }
}

}  // namespace tensorplan
