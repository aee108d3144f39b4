// A one-line progress display on stderr: what, how far, elapsed, ETA and a free-form status (for a
// solver: incumbent, bound, gap). Redraws at most a few times a second; silent when quiet.
#pragma once

#include <cstdint>
#include <string>

#include "tensorplan/common/timer.h"

namespace tensorplan {

class Progress {
 public:
  // `total` <= 0 means unknown (no percentage or ETA is shown).
  Progress(std::string what, std::int64_t total, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  void draw(bool final);

  std::string what_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string status_;
  bool quiet_;
  bool finished_ = false;
  bool tty_;
  Stopwatch clock_;
  double last_draw_ = -1;
};

// "1.5 GiB", "12.0 MiB", "512 B".
std::string format_bytes(std::int64_t bytes);
// "3.2 s", "1 m 05 s", "2 h 03 m".
std::string format_seconds(double seconds);

}  // namespace tensorplan
