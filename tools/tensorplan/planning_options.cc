#include "planning_options.h"

#include <fmt/format.h>

#include "numeric_options.h"

namespace tensorplan::cli {

void add_planning_options(CLI::App& command, PlanningArgs& args,
                          const std::string& time_limit_help) {
  command.add_option("--time-limit", args.time_limit, time_limit_help)
      ->check(number_in(0, kMaxSeconds))
      ->capture_default_str();
  command
      .add_option("--alignment", args.alignment,
                  "place tensors at multiples of this many bytes (sizes rounded up); 512 is what\n"
                  "PyTorch's caching allocator rounds to, 1 places bytes exactly")
      ->check(integer_in(1, kMaxAlignment))
      ->capture_default_str();
  command
      .add_option("--placement-time", args.placement_time,
                  "of the time left after ordering, at most this many seconds for placing (the\n"
                  "heuristics, then the exact search unless they meet the max-live bound)")
      ->check(number_in(0, kMaxSeconds))
      ->capture_default_str();
  command
      .add_option("--threads", args.threads,
                  "threads for the placement search (0: one per core; same plan for any count)\n"
                  "and for the ILP solver (0 or 1: one, reproducible; more is faster)")
      ->check(integer_in(0, 256))
      ->capture_default_str();
}

mem::PlanOptions plan_options(const PlanningArgs& args) {
  mem::PlanOptions options;
  options.time_limit = args.time_limit;
  options.alignment = args.alignment;
  options.placement_time_limit = args.placement_time;
  options.threads = args.threads;
  return options;
}

}  // namespace tensorplan::cli
