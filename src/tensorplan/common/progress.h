// A one-line progress display on stderr: what, how far, elapsed, ETA and a free-form status (for a
// solver: incumbent, bound, gap). On a terminal only, redrawn in place a few times a second, and
// kept ticking by a thread so that a phase with no news still shows its time moving. Silent when
// quiet, and when stderr is not a terminal unless asked to log (long batch jobs: one line every
// 10 s and the last). When several are alive (a solver's inside the planner's), the newest draws.
// update() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "tensorplan/common/timer.h"

namespace tensorplan {

class Progress {
 public:
  enum class Redirected { kSilent, kLog };  // what to do when stderr is not a terminal
  // `total` <= 0 means unknown (no percentage or ETA is shown).
  Progress(std::string what, std::int64_t total, bool quiet,
           Redirected redirected = Redirected::kSilent);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::int64_t done, const std::string& status = "");
  // Keeps `done`, changes the status.
  void status(const std::string& status);
  void finish(const std::string& status = "");
  // Prints a line of its own on stderr (a result, a warning) above the progress line.
  void print_line(const std::string& line);

 private:
  void maybe_draw_locked();
  void draw_locked(bool final);
  void stop_ticking();

  std::string what_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string status_;
  bool shown_;  // draws at all: not quiet, and a terminal or asked to log
  bool tty_;
  bool finished_ = false;
  Stopwatch clock_;
  double last_draw_ = -1;
  Progress* outer_ = nullptr;  // the display that was newest before this one
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
};

// "1.5 GiB", "12.0 MiB", "512 B".
std::string format_bytes(std::int64_t bytes);
// "3.2 s", "1 m 05 s", "2 h 03 m".
std::string format_seconds(double seconds);

}  // namespace tensorplan
