#include "tensorplan/common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace tensorplan {

namespace {
constexpr double kQuietStart = 0.5;        // seconds before anything is shown
constexpr double kTerminalInterval = 0.2;  // seconds between redraws on a terminal
constexpr double kLogInterval = 10.0;      // in a log, a line every 10 s is plenty
constexpr auto kTick = std::chrono::milliseconds(250);

// The newest live display: the only one that draws, so that nested ones do not fight for the line.
std::mutex newest_mutex;
Progress* newest = nullptr;
}  // namespace

Progress::Progress(std::string what, std::int64_t total, bool quiet, Redirected redirected)
    : what_(std::move(what)), total_(total), tty_(::isatty(STDERR_FILENO) != 0) {
  shown_ = !quiet && (tty_ || redirected == Redirected::kLog);
  if (shown_) {  // a silent display (a quiet planner inside mem bench) must not take the line
    std::lock_guard<std::mutex> lock(newest_mutex);
    outer_ = newest;
    newest = this;
  }
  if (shown_ && tty_) {
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!finished_) {
        wake_.wait_for(lock, kTick);
        if (!finished_) maybe_draw_locked();
      }
    });
  }
}

Progress::~Progress() { finish(); }

void Progress::update(std::int64_t done, const std::string& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  done_ = done;
  status_ = status;
  maybe_draw_locked();
}

void Progress::status(const std::string& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  status_ = status;
  maybe_draw_locked();
}

void Progress::finish(const std::string& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
    if (!status.empty()) status_ = status;
    if (total_ > 0) done_ = std::max(done_, total_);
    // Work that ended within half a second showed nothing and leaves nothing.
    if (last_draw_ >= 0 || clock_.seconds() >= kQuietStart) draw_locked(true);
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  if (!shown_) return;
  std::lock_guard<std::mutex> lock(newest_mutex);
  if (newest == this) newest = outer_;
}

void Progress::print_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shown_ && tty_ && last_draw_ >= 0) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  if (!finished_ && last_draw_ >= 0) draw_locked(false);
}

void Progress::maybe_draw_locked() {
  const double now = clock_.seconds();
  const double interval = tty_ ? kTerminalInterval : kLogInterval;
  if (now >= kQuietStart && (last_draw_ < 0 || now - last_draw_ >= interval)) draw_locked(false);
}

void Progress::draw_locked(bool final) {
  last_draw_ = clock_.seconds();
  if (!shown_) return;
  {
    std::lock_guard<std::mutex> lock(newest_mutex);
    if (newest != this) return;
  }
  const double elapsed = clock_.seconds();
  std::string line = what_;
  if (total_ > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    constexpr int kWidth = 20;
    const int filled = static_cast<int>(std::round(fraction * kWidth));
    line += fmt::format(" [{}{}] {}/{} ({:.0f}%)", std::string(filled, '#'),
                        std::string(kWidth - filled, '.'), done_, total_, 100 * fraction);
    line += fmt::format(" {}", format_seconds(elapsed));
    if (!final && fraction > 0 && fraction < 1)
      line += fmt::format(", ETA {}", format_seconds(elapsed * (1 - fraction) / fraction));
  } else {
    line += fmt::format(" {}", format_seconds(elapsed));
  }
  if (!status_.empty()) line += fmt::format("  {}", status_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

std::string format_bytes(std::int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (std::abs(b) >= 1024.0 * 1024 * 1024)
    return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
  if (std::abs(b) >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  if (std::abs(b) >= 1024.0) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", bytes);
}

std::string format_seconds(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<long long>(seconds);
  if (seconds < 3600) return fmt::format("{} m {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} m", total / 3600, (total % 3600) / 60);
}

}  // namespace tensorplan
