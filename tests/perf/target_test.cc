// The Halide target built from the processor's flags: every feature the flags fully support, and
// never AVX512_SapphireRapids (Halide 14 picks it on AMD Zen 4, and its code dies with SIGILL).
#include "tensorplan/perf/halide/target.h"

#include <gtest/gtest.h>

namespace tensorplan::perf {
namespace {

TEST(HostTarget, ZenFourGetsCannonlakeNotSapphireRapids) {
  // This machine's flags (AMD EPYC, family 26), avx512_fp16 and amx absent as on Zen 4.
  const std::set<std::string> zen4 = {
      "fma",         "sse4_1",        "sse4_2",          "avx",
      "f16c",        "avx2",          "avx512f",         "avx512dq",
      "avx512ifma",  "avx512cd",      "avx512bw",        "avx512vl",
      "avx_vnni",    "avx512_bf16",   "avx512vbmi",      "avx512_vbmi2",
      "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq"};
  const Halide::Target t = target_from_cpu_flags(zen4);
  EXPECT_EQ(t.os, Halide::Target::Linux);
  EXPECT_EQ(t.arch, Halide::Target::X86);
  EXPECT_EQ(t.bits, 64);
  for (const auto f : {Halide::Target::SSE41, Halide::Target::AVX, Halide::Target::AVX2,
                       Halide::Target::FMA, Halide::Target::F16C, Halide::Target::AVX512,
                       Halide::Target::AVX512_Skylake, Halide::Target::AVX512_Cannonlake}) {
    EXPECT_TRUE(t.has_feature(f)) << Halide::Target().with_feature(f).to_string();
  }
  EXPECT_FALSE(t.has_feature(Halide::Target::AVX512_SapphireRapids));
}

TEST(HostTarget, AFeatureNeedsEveryFlagItImplies) {
  // AVX2 without AVX-512; then AVX-512 foundation without the Skylake subsets.
  const Halide::Target avx2 = target_from_cpu_flags({"sse4_1", "avx", "avx2", "fma", "f16c"});
  EXPECT_TRUE(avx2.has_feature(Halide::Target::AVX2));
  EXPECT_FALSE(avx2.has_feature(Halide::Target::AVX512));
  const Halide::Target knl =
      target_from_cpu_flags({"sse4_1", "avx", "avx2", "avx512f", "avx512cd", "avx512bw"});
  EXPECT_TRUE(knl.has_feature(Halide::Target::AVX512));
  EXPECT_FALSE(knl.has_feature(Halide::Target::AVX512_Skylake));  // no avx512dq, avx512vl
  const Halide::Target none = target_from_cpu_flags({});
  EXPECT_EQ(none.to_string(), "x86-64-linux");
}

TEST(HostTarget, IsThisMachinesFlagsAndNeverSapphireRapids) {
  EXPECT_EQ(host_target(), target_from_cpu_flags(cpu_flags()));
  EXPECT_FALSE(host_target().has_feature(Halide::Target::AVX512_SapphireRapids));
}

}  // namespace
}  // namespace tensorplan::perf
