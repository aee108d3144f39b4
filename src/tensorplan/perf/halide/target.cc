#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {

Halide::Target target_from_cpu_flags(const std::set<std::string>& flags) {
  Halide::Target target(Halide::Target::Linux, Halide::Target::X86, 64);
  const auto has = [&](std::initializer_list<const char*> names) {
    for (const char* name : names) {
      if (!flags.count(name)) return false;
    }
    return true;
  };
  if (has({"sse4_1"})) target.set_feature(Halide::Target::SSE41);
  if (has({"avx"})) target.set_feature(Halide::Target::AVX);
  if (has({"avx2"})) target.set_feature(Halide::Target::AVX2);
  if (has({"fma"})) target.set_feature(Halide::Target::FMA);
  if (has({"f16c"})) target.set_feature(Halide::Target::F16C);
  if (has({"avx512f", "avx512cd"})) {
    target.set_feature(Halide::Target::AVX512);
    if (has({"avx512bw", "avx512dq", "avx512vl"})) {
      target.set_feature(Halide::Target::AVX512_Skylake);
      if (has({"avx512ifma", "avx512vbmi"})) target.set_feature(Halide::Target::AVX512_Cannonlake);
    }
  }
  return target;
}

Halide::Target host_target() {
#if defined(__x86_64__) && defined(__linux__)
  return target_from_cpu_flags(cpu_flags());
#else
  return Halide::get_host_target();
#endif
}

}  // namespace tensorplan::perf
