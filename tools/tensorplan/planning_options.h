// The planning options that mem plan, mem report and mem bench share: one spelling, one help
// text, one set of defaults (the library's), so that the same thing is asked the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "tensorplan/mem/planner.h"

namespace tensorplan::cli {

struct PlanningArgs {
  double time_limit = mem::PlanOptions().time_limit;
  std::int64_t alignment = mem::PlanOptions().alignment;
  double placement_time = mem::PlanOptions().placement_time_limit;
  int threads = mem::PlanOptions().threads;
};

// Adds --time-limit (described by `time_limit_help`), --alignment, --placement-time, --threads.
void add_planning_options(CLI::App& command, PlanningArgs& args,
                          const std::string& time_limit_help);

// The library's options with these set (quiet, joint, ... left at their defaults).
mem::PlanOptions plan_options(const PlanningArgs& args);

}  // namespace tensorplan::cli
