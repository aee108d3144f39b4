#include "tensorplan/perf/halide/head_to_head.h"

#include <cstdlib>
#include <functional>
#include <memory>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/halide/aot.h"
#include "tensorplan/perf/subprocess.h"

namespace tensorplan::perf {

InterleavedTiming time_head_to_head(const std::vector<CompiledSchedule>& schedules,
                                    const std::string& target, int threads,
                                    const InterleavedOptions& options, std::uint64_t seed,
                                    const std::string& work_dir, double limit_seconds,
                                    unsigned long long memory_cap_bytes) {
  if (schedules.empty()) fail("no compiled schedule to time");
  const std::string runtime = work_dir + "/runtime.o";
  compile_runtime_object(target, runtime);
  std::vector<std::string> objects;
  for (const CompiledSchedule& s : schedules) objects.push_back(s.object_path);
  objects.push_back(runtime);
  const std::string library_path = work_dir + "/head-to-head.so";
  link_shared_object(objects, library_path);

  const ChildOutcome outcome = run_in_child(
      [&](const MessageSink& send) {
        ::setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);
        ScheduleLibrary library(library_path);
        std::vector<std::unique_ptr<BoundArguments>> arguments;
        std::vector<std::function<void()>> runs;
        for (const CompiledSchedule& s : schedules) {
          arguments.push_back(std::make_unique<BoundArguments>(s.bound_arguments));
          const auto fn = library.function(s.function_name);
          void** argv = arguments.back()->argv();
          const std::string name = s.function_name;
          runs.push_back([fn, argv, name] {
            const int rc = fn(argv);
            if (rc != 0) fail("schedule {} returned Halide error {}", name, rc);
          });
        }
        send(timing_message(time_interleaved(runs, options, seed)));
      },
      {{"start", limit_seconds}}, limit_seconds, memory_cap_bytes);
  if (outcome.status != "ok" || outcome.messages.empty() ||
      outcome.messages.back().value("type", "") != "timing") {
    fail("the head-to-head timing process failed: {} {}", outcome.status, outcome.detail);
  }
  return timing_from_message(outcome.messages.back());
}

}  // namespace tensorplan::perf
