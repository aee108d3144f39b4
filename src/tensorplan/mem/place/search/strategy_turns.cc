#include "tensorplan/mem/place/search/strategy_turns.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <system_error>
#include <utility>

#include "tensorplan/mem/place/search/part.h"

namespace tensorplan::mem::place::exact {

// Runs one strategy's probe on a thread of its own, a slice of steps at a time: the search pauses
// when its slice is used up and goes on from there when given the next. So strategies take turns
// without starting over (a restart would repeat the same deterministic search); slices are counted
// in steps, not time, so the outcome does not depend on timing.

// A thread with a large stack: the search recurses once per placed buffer, and parts of thousands
// of buffers overflowed the default 8 MiB thread stack under AddressSanitizer (whose frames are
// larger). The size is only reserved address space; pages are committed as the recursion uses them.
class DeepStackThread {
 public:
  static constexpr std::size_t kStackBytes = std::size_t{512} << 20;
  DeepStackThread() = default;
  DeepStackThread(const DeepStackThread&) = delete;
  DeepStackThread& operator=(const DeepStackThread&) = delete;
  ~DeepStackThread() { join(); }

  void start(std::function<void()> body) {
    auto* owned = new std::function<void()>(std::move(body));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackBytes);
    const int rc = pthread_create(
        &id_, &attr,
        [](void* arg) -> void* {
          std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(arg));
          (*f)();
          return nullptr;
        },
        owned);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      delete owned;
      throw std::system_error(rc, std::generic_category(), "cannot start a search thread");
    }
    running_ = true;
  }
  bool joinable() const { return running_; }
  void join() {
    if (!running_) return;
    pthread_join(id_, nullptr);
    running_ = false;
  }

 private:
  pthread_t id_{};
  bool running_ = false;
};

class SlicedProbe {
 public:
  SlicedProbe(SteppedSearch& search, std::int64_t capacity, const Deadline& deadline, Turns& turns)
      : search_(search), capacity_(capacity), deadline_(deadline), turns_(turns) {}
  SlicedProbe(const SlicedProbe&) = delete;
  SlicedProbe& operator=(const SlicedProbe&) = delete;
  // A paused search is told to stop, unwinds and ends.
  ~SlicedProbe() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(turns_.mutex);
      abort_ = true;
      worker_turn_ = true;
    }
    your_turn_.notify_one();
    thread_.join();
  }

  // Lets the search take `steps` more steps, or run to its end, while the caller goes on.
  void start(std::int64_t steps) {
    {
      std::lock_guard lock(turns_.mutex);
      granted_ = steps;
      worker_turn_ = true;
    }
    if (thread_.joinable()) {
      your_turn_.notify_one();
    } else {
      thread_.start([this] { work(); });
    }
  }

  // With turns.mutex held: whether the slice given by start() is still running.
  bool running() const { return worker_turn_; }
  // With turns.mutex held: whether the search has ended.
  bool done() const { return done_; }
  // With turns.mutex held, once not running: kStopped while the search is paused (or if it ended
  // at the deadline); otherwise its outcome.
  ProbeResult outcome() {
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    return done_ ? result_ : ProbeResult::kStopped;
  }

 private:
  void work() {
    search_.set_more_steps([this]() -> std::int64_t {
      std::unique_lock lock(turns_.mutex);
      if (abort_) return 0;  // told to stop while running (the caller is unwinding)
      worker_turn_ = false;
      turns_.slice_ended.notify_one();
      your_turn_.wait(lock, [&] { return worker_turn_; });
      return abort_ ? 0 : granted_;
    });
    std::int64_t first_slice;
    {
      std::lock_guard lock(turns_.mutex);
      first_slice = granted_;
    }
    ProbeResult result = ProbeResult::kStopped;
    std::exception_ptr error;
    try {
      result = search_.probe(capacity_, first_slice, deadline_);
    } catch (...) {
      error = std::current_exception();
    }
    search_.set_more_steps(nullptr);
    {
      std::lock_guard lock(turns_.mutex);
      result_ = result;
      error_ = error;
      done_ = true;
      worker_turn_ = false;
    }
    turns_.slice_ended.notify_one();
  }

  SteppedSearch& search_;
  std::int64_t capacity_;
  const Deadline& deadline_;
  Turns& turns_;
  std::condition_variable your_turn_;
  DeepStackThread thread_;
  // Guarded by turns_.mutex:
  bool worker_turn_ = false;  // the search runs; the caller waits for it
  bool abort_ = false;
  bool done_ = false;
  std::int64_t granted_ = 0;
  ProbeResult result_ = ProbeResult::kStopped;
  std::exception_ptr error_;
};

StrategyTurns::StrategyTurns(std::vector<SteppedSearch*> searches, std::int64_t capacity,
                             const Deadline& deadline, std::size_t threads, std::int64_t lead)
    : searches_(std::move(searches)),
      capacity_(capacity),
      deadline_(deadline),
      threads_(std::max<std::size_t>(1, threads)),
      lead_(std::max(kSlice, lead)),
      spent_(searches_.size(), 0),
      finished_(searches_.size(), false),
      round_(searches_.size(), 0) {
  for (SteppedSearch* search : searches_)
    runs_.push_back(std::make_unique<SlicedProbe>(*search, capacity, deadline, turns_));
}

StrategyTurns::~StrategyTurns() = default;

ProbeResult StrategyTurns::run(std::int64_t budget) {
  if (decision_ != ProbeResult::kStopped) return decision_;
  const std::int64_t m = static_cast<std::int64_t>(runs_.size());
  // A strategy has ended when its search has, or its budget is spent.
  auto ended = [&](std::int64_t k) { return finished_[k] || spent_[k] >= budget; };
  std::vector<std::int64_t> turn_of(m, -1);  // the turn a strategy runs now, or -1
  std::int64_t decided = kInf;               // the first turn that decided
  std::size_t flying = 0;
  auto next_turn = [&](std::int64_t k) { return round_[k] * m + k; };
  for (;;) {
    // Start the earliest turns while threads are free: a strategy's turn waits for its last,
    // and none runs more than kMaxLead rounds ahead of the slowest (which all turns before
    // the deciding one must wait for).
    while (flying < threads_ && !deadline_.expired()) {
      std::int64_t slowest = kInf;
      for (std::int64_t k = 0; k < m; ++k)
        if (!ended(k)) slowest = std::min(slowest, turn_of[k] >= 0 ? turn_of[k] : next_turn(k));
      std::int64_t pick = -1;
      for (std::int64_t k = 0; k < m; ++k) {
        if (ended(k) || turn_of[k] >= 0 || next_turn(k) >= decided ||
            next_turn(k) >= slowest + kMaxLead * m)
          continue;
        if (pick < 0 || next_turn(k) < next_turn(pick)) pick = k;
      }
      if (pick < 0) break;
      const std::int64_t slice =
          std::min(next_turn(pick) == 0 ? lead_ : kSlice, budget - spent_[pick]);
      spent_[pick] += slice;
      turn_of[pick] = next_turn(pick);
      ++round_[pick];
      ++flying;
      runs_[pick]->start(slice);
    }
    if (flying == 0) break;
    std::unique_lock lock(turns_.mutex);
    turns_.slice_ended.wait(lock, [&] {
      for (std::int64_t k = 0; k < m; ++k)
        if (turn_of[k] >= 0 && !runs_[k]->running()) return true;
      return false;
    });
    for (std::int64_t k = 0; k < m; ++k) {
      if (turn_of[k] < 0 || runs_[k]->running()) continue;
      const ProbeResult r = runs_[k]->outcome();
      if (r != ProbeResult::kStopped && turn_of[k] < decided) {
        decided = turn_of[k];
        decision_ = r;
        decider_ = static_cast<std::size_t>(k);
      }
      finished_[k] = runs_[k]->done();
      turn_of[k] = -1;
      --flying;
    }
  }
  return decision_;
}

}  // namespace tensorplan::mem::place::exact
