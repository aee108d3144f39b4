// The file-reading fuzz targets hand their input to the reader through one scratch file per
// process, in the system's temporary directory (TMPDIR), rewritten for every input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

inline std::string write_scratch_file(const std::string& suffix, const std::uint8_t* data,
                                      std::size_t size) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tensorplan-fuzz-" + std::to_string(::getpid()) + suffix))
                               .string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}
