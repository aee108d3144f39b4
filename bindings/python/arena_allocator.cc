// tensorplan._arena: a CPU allocator that hands a planned step's allocations their place in the
// arena.
//
// A planned step runs operators that have no `.out` overload (convolution, batch norm and their
// backwards on CPU): their kernels allocate their outputs, and their scratch memory, themselves.
// While the replay runs such a call it "arms" this allocator with
//   - the call's output slots (bytes, address in the arena): an allocation of exactly a slot's
//     size gets the slot, after letting `skip` allocations of that size pass (oneDNN computes
//     into a scratch buffer of the output's size first, then copies into the output);
//   - optionally a workspace region of the arena, planned for this call: every other allocation
//     is served from it, first fit among the blocks live in it, while one fits.
// Everything else goes to PyTorch's own CPU allocator, which reports to the profiler as before
// (arena memory is one allocation, already counted). Allocations and releases made while armed
// are logged in order, so that the replay can learn a kernel's scratch memory and the skips.
//
// Safety: slots and the region hold tensors whose lifetimes start at this call; the replay checks
// after the call that every slot still held is an output in its own slot, and that nothing from
// the region outlives the call.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t kRegionAlignment = 64;  // bytes, as PyTorch's CPU allocator aligns

// One planned output of the call being run.
struct Slot {
  std::size_t bytes = 0;    // the allocation size that gets this slot
  void* address = nullptr;  // where in the arena
  int skip = 0;             // allocations of that size to let pass first
  int passed = 0;           // of those, how many went by
  bool held = false;        // handed out and not yet freed
};

enum Source { kSlot = 0, kRegion = 1, kElsewhere = 2 };

// What happened while armed, in order: an allocation (bytes, where from) or a release.
struct Event {
  bool release;
  std::size_t bytes;  // 0 for a release
  std::uintptr_t address;
  int source;  // Source of an allocation; -1 for a release
};

class PlannedCpuAllocator;
PlannedCpuAllocator* g_allocator = nullptr;

class PlannedCpuAllocator final : public c10::Allocator {
 public:
  explicit PlannedCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  c10::DataPtr allocate(std::size_t bytes) const override {
    if (!armed_.load(std::memory_order_acquire)) return fallback_->allocate(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    for (Slot& slot : slots_) {
      if (slot.held || slot.bytes != bytes) continue;
      if (slot.passed < slot.skip) {
        ++slot.passed;
        break;
      }
      slot.held = true;
      return logged(slot.address, bytes, kSlot, &release_planned);
    }
    if (region_ != nullptr && bytes > 0) {
      // First fit among the blocks live in the region, each start aligned.
      std::size_t start = 0;
      for (const auto& [begin, end] : region_blocks_) {
        if (start + bytes <= begin) break;
        start = std::max(start, (end + kRegionAlignment - 1) / kRegionAlignment * kRegionAlignment);
      }
      if (start + bytes <= region_bytes_) {
        region_blocks_.insert({start, start + bytes});
        return logged(static_cast<char*>(region_) + start, bytes, kRegion, &release_planned);
      }
    }
    c10::DataPtr elsewhere = fallback_->allocate(bytes);
    void* address = elsewhere.get();
    if (address == nullptr || elsewhere.get_context() != address) return elsewhere;
    // Followed until freed, so that the replay learns the call's scratch memory.
    c10::DeleterFnPtr deleter = elsewhere.get_deleter();
    elsewhere.release_context();
    {
      std::lock_guard<std::mutex> tracked(tracked_mutex_);
      tracked_[address] = deleter;
    }
    return logged(address, bytes, kElsewhere, &release_tracked);
  }

  // raw_allocate() callers (oneDNN's scratch memory) free through this.
  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

  void arm(const std::vector<std::tuple<std::size_t, std::uintptr_t, int>>& slots,
           std::optional<std::pair<std::uintptr_t, std::size_t>> region) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_.clear();
    log_.clear();
    for (auto [bytes, address, skip] : slots) {
      slots_.push_back({bytes, reinterpret_cast<void*>(address), skip, 0, false});
    }
    region_ = region ? reinterpret_cast<void*>(region->first) : nullptr;
    region_bytes_ = region ? region->second : 0;
    region_blocks_.clear();
    armed_.store(true, std::memory_order_release);
  }

  // Stops serving from the arena. Returns the addresses of the slots still held and what
  // happened while armed, in order: (bytes, address, source) for an allocation, (0, address, -1)
  // for a release.
  std::pair<std::vector<std::uintptr_t>, std::vector<std::tuple<std::size_t, std::uintptr_t, int>>>
  disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_.store(false, std::memory_order_release);
    std::vector<std::uintptr_t> held;
    for (const Slot& slot : slots_) {
      if (slot.held) held.push_back(reinterpret_cast<std::uintptr_t>(slot.address));
    }
    std::vector<std::tuple<std::size_t, std::uintptr_t, int>> log;
    for (const Event& e : log_) log.emplace_back(e.bytes, e.address, e.source);
    slots_.clear();
    log_.clear();
    region_ = nullptr;
    region_blocks_.clear();
    return {held, log};
  }

 private:
  // Caller holds mutex_.
  c10::DataPtr logged(void* address, std::size_t bytes, Source source,
                      c10::DeleterFnPtr deleter) const {
    log_.push_back({false, bytes, reinterpret_cast<std::uintptr_t>(address), source});
    if (source != kElsewhere) planned_live_.insert(address);
    // The context is the address itself, so raw_allocate() works on it too.
    return c10::DataPtr(address, address, deleter, c10::Device(c10::DeviceType::CPU));
  }

  // Logs a release: a slot is offered again, a region block is free again.
  void note_free(void* address) const {
    std::lock_guard<std::mutex> lock(mutex_);
    planned_live_.erase(address);
    if (!armed_.load(std::memory_order_acquire)) return;
    for (Slot& slot : slots_) {
      if (slot.address == address) slot.held = false;
    }
    if (region_ != nullptr && address >= region_ &&
        address < static_cast<char*>(region_) + region_bytes_) {
      std::size_t start = static_cast<char*>(address) - static_cast<char*>(region_);
      auto it = region_blocks_.lower_bound({start, 0});
      if (it != region_blocks_.end() && it->first == start) region_blocks_.erase(it);
    }
    log_.push_back({true, 0, reinterpret_cast<std::uintptr_t>(address), -1});
  }

  // Arena memory (a slot or the region): nothing to free.
  static void release_planned(void* address) {
    if (g_allocator != nullptr) g_allocator->note_free(address);
  }

  // Returns true if the address was a tracked fallback allocation (then freed).
  static bool release_if_tracked(void* address) {
    c10::DeleterFnPtr deleter = nullptr;
    {
      std::lock_guard<std::mutex> lock(g_allocator->tracked_mutex_);
      auto it = g_allocator->tracked_.find(address);
      if (it == g_allocator->tracked_.end()) return false;
      deleter = it->second;
      g_allocator->tracked_.erase(it);
    }
    g_allocator->note_free(address);
    deleter(address);
    return true;
  }

  static void release_tracked(void* address) { release_if_tracked(address); }

  static void release_any(void* address) {
    if (release_if_tracked(address)) return;
    if (g_allocator->in_arena_log(address)) {
      g_allocator->note_free(address);
      return;
    }
    c10::DeleterFnPtr fallback = g_allocator->fallback_->raw_deleter();
    if (fallback == nullptr) throw std::runtime_error("the CPU allocator has no raw deleter");
    fallback(address);
  }

  // Whether the address is arena memory handed out (a slot or the region) and not yet freed.
  bool in_arena_log(void* address) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return planned_live_.count(address) > 0;
  }

  c10::Allocator* fallback_;
  mutable std::mutex mutex_;  // guards slots_, log_, region
  mutable std::vector<Slot> slots_;
  mutable std::vector<Event> log_;
  mutable std::unordered_set<void*> planned_live_;  // arena addresses handed out, not freed
  mutable void* region_ = nullptr;
  mutable std::size_t region_bytes_ = 0;
  mutable std::set<std::pair<std::size_t, std::size_t>> region_blocks_;  // live [begin, end)
  mutable std::mutex tracked_mutex_;  // guards tracked_
  mutable std::unordered_map<void*, c10::DeleterFnPtr> tracked_;
  std::atomic<bool> armed_{false};
};

// Installed once and for the life of the process: unarmed, it only passes allocations through.
void install() {
  if (g_allocator != nullptr) return;
  c10::Allocator* current = c10::GetCPUAllocator();
  if (current->raw_deleter() == nullptr) {
    throw std::runtime_error("PyTorch's CPU allocator has no raw deleter; cannot wrap it");
  }
  g_allocator = new PlannedCpuAllocator(current);  // never freed: tensors may outlive any scope
  c10::SetCPUAllocator(g_allocator, /*priority=*/UINT8_MAX);
}

PlannedCpuAllocator& installed() {
  if (g_allocator == nullptr) throw std::runtime_error("tensorplan._arena.install() first");
  return *g_allocator;
}

}  // namespace

PYBIND11_MODULE(_arena, m) {
  m.doc() = "A CPU allocator that puts a planned step's allocations at their places in the arena.";
  m.def("install", &install, "Wraps PyTorch's CPU allocator (once per process).");
  m.def("installed", [] { return g_allocator != nullptr && c10::GetCPUAllocator() == g_allocator; },
        "Whether PyTorch's CPU allocator is the wrapped one.");
  m.def(
      "arm",
      [](const std::vector<std::tuple<std::size_t, std::uintptr_t, int>>& slots,
         std::optional<std::pair<std::uintptr_t, std::size_t>> region) {
        installed().arm(slots, region);
      },
      pybind11::arg("slots"), pybind11::arg("region") = pybind11::none(),
      "Offers slots [(bytes, address, skip)]: after `skip` allocations of exactly `bytes`, the "
      "next one gets `address`; other allocations come from region (address, bytes) while it "
      "has room.");
  m.def("disarm", [] { return installed().disarm(); },
        "Stops serving; returns (addresses of slots still held, events while armed in order: "
        "(bytes, address, source) for an allocation from source 0 slot, 1 region, 2 elsewhere; "
        "(0, address, -1) for a release).");
}
