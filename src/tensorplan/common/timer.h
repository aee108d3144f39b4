// Wall-clock stopwatch and deadlines; all time limits in tensorplan are wall-clock seconds.
#pragma once

#include <chrono>
#include <limits>

namespace tensorplan {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A point in time after which work should stop. A budget of zero or less has expired from the
// start; an infinite one never expires.
class Deadline {
 public:
  Deadline() = default;  // never expires (implicit, so options structs holding one take `{}`)
  explicit Deadline(double seconds) : budget_(seconds) {}
  double elapsed() const { return clock_.seconds(); }
  double remaining() const { return budget_ - clock_.seconds(); }
  bool expired() const { return remaining() <= 0; }
  double budget() const { return budget_; }

 private:
  Stopwatch clock_;
  double budget_ = std::numeric_limits<double>::infinity();
};

}  // namespace tensorplan
