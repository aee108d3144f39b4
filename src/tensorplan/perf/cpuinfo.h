// What /proc/cpuinfo says of the processor: the feature flags a Halide target is built from, and
// the names a dataset records beside its timings (labels depend on the processor that timed them).
#pragma once

#include <map>
#include <set>
#include <string>

namespace tensorplan::perf {

// The "key : value" fields of the first processor (all report the same); empty if unreadable.
std::map<std::string, std::string> first_processor_fields(
    const std::string& cpuinfo_path = "/proc/cpuinfo");

// The CPU feature flags of the first processor (e.g. "avx2", "avx512f").
std::set<std::string> cpu_flags(const std::string& cpuinfo_path = "/proc/cpuinfo");

// The processor's model name ("AMD EPYC"); "" if not reported.
std::string cpu_model_name(const std::string& cpuinfo_path = "/proc/cpuinfo");

// The processor, as /proc/cpuinfo names it: "AMD EPYC (family 26, model 2, stepping 1)". The model
// name alone may be the same for different processors. Empty if the file cannot be read.
std::string cpu_identity(const std::string& cpuinfo_path = "/proc/cpuinfo");

}  // namespace tensorplan::perf
