// The Halide target to compile and time for. Halide 14's own host detection enables
// AVX512_SapphireRapids on AMD Zen 4 and the code then dies with SIGILL, so the target is built
// from the feature flags the kernel reports in /proc/cpuinfo instead.
#pragma once

#include <Halide.h>

#include <set>
#include <string>

#include "tensorplan/perf/cpuinfo.h"

namespace tensorplan::perf {

// x86-64-linux plus every Halide feature the flags fully support, up to AVX512_Cannonlake.
// SapphireRapids is never enabled: LLVM's sapphirerapids CPU assumes AMX and AVX512-FP16.
Halide::Target target_from_cpu_flags(const std::set<std::string>& flags);

// target_from_cpu_flags(cpu_flags()), or Halide::get_host_target() off x86-64 Linux.
Halide::Target host_target();

}  // namespace tensorplan::perf
