// Fuzz target: a MiniMalloc CSV, as `mem place` reads it; what parses is placed by the greedy
// heuristics and the placement checked (a heuristic giving an invalid placement is a crash).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/csv.h"
#include "tensorplan/mem/place/placer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tensorplan::mem::place;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    CsvInstance instance = parse_csv(text, "fuzz.csv");
    if (instance.problem.buffers.size() > 2000) return 0;  // speed, not coverage
    const BestPlacement best =
        place_best(instance.problem, heuristic_placers(), tensorplan::Deadline());
    if (!is_valid(instance.problem, best.placement.offsets)) std::abort();
    format_csv(instance.problem, best.placement.offsets, instance.ids);
  } catch (const tensorplan::Error&) {
  }
  return 0;
}
