// tensorplan._arena: a CPU allocator that hands chosen allocations a planned place in the arena.
//
// A planned step runs operators that have no `.out` overload (convolution, batch norm and their
// backwards on CPU): their kernels allocate their outputs themselves. Rather than computing the
// output elsewhere and copying it in, the replay "arms" this allocator with the output slots of
// the call it is about to make (bytes, address in the arena); while armed, an allocation of
// exactly a slot's size gets that slot. Everything else goes to PyTorch's own CPU allocator,
// which also reports to the profiler as before (arena memory is one allocation, already counted).
//
// Safety: a slot is the place of an output whose lifetime starts at this call, so nothing else
// lives there during it; if a kernel's workspace takes a slot first, it frees it before the call
// returns and the slot is offered again. After the call the replay checks every slot still held
// is an output that landed in its own slot (disarm() says which are held), copying the others,
// and learns how many same-size allocations a kernel makes before its output (skip).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace {

// One planned output of the call being run.
struct Slot {
  std::size_t bytes = 0;    // the allocation size that gets this slot
  void* address = nullptr;  // where in the arena
  int skip = 0;             // allocations of that size to let pass first (a kernel's scratch
                            // copy of its output, e.g. oneDNN's, comes before the output)
  int passed = 0;           // of those, how many went by
  bool held = false;        // handed out and not yet freed
};

class PlannedCpuAllocator;
PlannedCpuAllocator* g_allocator = nullptr;

class PlannedCpuAllocator final : public c10::Allocator {
 public:
  explicit PlannedCpuAllocator(c10::Allocator* fallback) : fallback_(fallback) {}

  c10::DataPtr allocate(std::size_t bytes) const override {
    if (armed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (Slot& slot : slots_) {
        if (slot.held || slot.bytes != bytes) continue;
        if (slot.passed < slot.skip) {
          ++slot.passed;
          break;
        }
        slot.held = true;
        log_.emplace_back(bytes, reinterpret_cast<std::uintptr_t>(slot.address));
        // The context is the address itself, so raw_allocate() works on it too.
        return c10::DataPtr(slot.address, slot.address, &release,
                            c10::Device(c10::DeviceType::CPU));
      }
      bool watched = false;
      for (const Slot& slot : slots_) watched = watched || slot.bytes == bytes;
      if (watched) {
        c10::DataPtr elsewhere = fallback_->allocate(bytes);
        log_.emplace_back(bytes, reinterpret_cast<std::uintptr_t>(elsewhere.get()));
        return elsewhere;
      }
    }
    return fallback_->allocate(bytes);
  }

  // raw_allocate() callers (oneDNN's scratch memory) free through this: arena addresses are
  // released as slots, the rest go to the fallback's raw deleter.
  c10::DeleterFnPtr raw_deleter() const override { return &raw_release; }

  void arm(const std::vector<std::tuple<std::size_t, std::uintptr_t, int>>& slots) {
    std::lock_guard<std::mutex> lock(mutex_);
    slots_.clear();
    log_.clear();
    for (auto [bytes, address, skip] : slots) {
      slots_.push_back({bytes, reinterpret_cast<void*>(address), skip, 0, false});
    }
    armed_.store(true, std::memory_order_release);
  }

  // Stops handing out slots. Returns the addresses of the slots still held, and every
  // allocation of a slot's size made while armed, in order (bytes, address), so that the
  // caller can learn which of them was the output.
  std::pair<std::vector<std::uintptr_t>, std::vector<std::pair<std::size_t, std::uintptr_t>>>
  disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_.store(false, std::memory_order_release);
    std::vector<std::uintptr_t> held;
    for (const Slot& slot : slots_) {
      if (slot.held) held.push_back(reinterpret_cast<std::uintptr_t>(slot.address));
    }
    slots_.clear();
    return {held, std::exchange(log_, {})};
  }

  c10::Allocator* fallback() const { return fallback_; }

 private:
  // Returns a slot: offered again while armed; after disarm() nothing is left to do.
  static void release(void* address) {
    if (g_allocator == nullptr) return;
    std::lock_guard<std::mutex> lock(g_allocator->mutex_);
    for (Slot& slot : g_allocator->slots_) {
      if (slot.address == address) slot.held = false;
    }
  }

  static void raw_release(void* address) {
    {
      std::lock_guard<std::mutex> lock(g_allocator->mutex_);
      for (Slot& slot : g_allocator->slots_) {
        if (slot.address == address && slot.held) {
          slot.held = false;
          return;
        }
      }
    }
    c10::DeleterFnPtr fallback = g_allocator->fallback_->raw_deleter();
    if (fallback == nullptr) throw std::runtime_error("the CPU allocator has no raw deleter");
    fallback(address);
  }

  c10::Allocator* fallback_;
  mutable std::mutex mutex_;
  mutable std::vector<Slot> slots_;
  mutable std::vector<std::pair<std::size_t, std::uintptr_t>> log_;
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
  m.doc() = "A CPU allocator that puts chosen allocations at planned places of an arena.";
  m.def("install", &install, "Wraps PyTorch's CPU allocator (once per process).");
  m.def("installed", [] { return g_allocator != nullptr && c10::GetCPUAllocator() == g_allocator; },
        "Whether PyTorch's CPU allocator is the wrapped one.");
  m.def(
      "arm",
      [](const std::vector<std::tuple<std::size_t, std::uintptr_t, int>>& slots) {
        installed().arm(slots);
      },
      pybind11::arg("slots"),
      "Offers slots [(bytes, address, skip)]: after `skip` allocations of exactly `bytes`, the "
      "next one gets `address`.");
  m.def("disarm", [] { return installed().disarm(); },
        "Stops offering slots; returns (addresses of slots still held, [(bytes, address)] of "
        "the allocations of a slot's size made while armed).");
}
