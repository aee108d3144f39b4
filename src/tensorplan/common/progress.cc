#include "tensorplan/common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace tensorplan {

namespace {
constexpr double kQuietStart = 0.5;  // seconds before anything is shown
}  // namespace

Progress::Progress(std::string what, std::int64_t total, bool quiet)
    : what_(std::move(what)), total_(total), quiet_(quiet), tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (!finished_) finish();
}

void Progress::update(std::int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  const double now = clock_.seconds();
  // Work that ends within half a second shows nothing. Then redraw often on a terminal; in a log,
  // once every 10 s is plenty.
  const double interval = tty_ ? 0.2 : 10.0;
  if (now >= kQuietStart && (last_draw_ < 0 || now - last_draw_ >= interval)) draw(false);
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (!status.empty()) status_ = status;
  if (total_ > 0) done_ = std::max(done_, total_);
  if (last_draw_ >= 0 || clock_.seconds() >= kQuietStart) draw(true);
}

void Progress::draw(bool final) {
  last_draw_ = clock_.seconds();
  if (quiet_) return;
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
  if (std::abs(b) >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
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
