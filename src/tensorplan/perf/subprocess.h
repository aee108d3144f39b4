// Runs a piece of work in a forked child process, so that a schedule that crashes, hangs or
// corrupts memory costs one sample, never the run. The child reports progress as a sequence of
// JSON messages, each with a "type"; the parent enforces a time limit per phase (the time allowed
// after the last message received) and kills the child when it runs over.
//
// Why fork: Adams2019 caches its random-dropout setting in a static on first use, so every sample
// needs a fresh process; and JIT code that crashes must not take the generator down. The parent
// must not have started threads before calling this.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"

namespace tensorplan::perf {

using MessageSink = std::function<void(const Json&)>;

// A child's address space is capped (RLIMIT_AS), so that a runaway schedule cannot take the
// machine's memory: 8 GiB, the default, is plenty for most samples (Adams2019's search of a few
// big pipelines needs more: run_in_child takes another cap). Not applied under AddressSanitizer,
// which reserves terabytes of shadow memory.
constexpr unsigned long long kChildMemoryCapBytes = 8ULL << 30;

struct ChildOutcome {
  std::vector<Json> messages;  // in the order the child sent them
  // "ok": exited 0; "error": threw (message in `detail`) or exited non-zero; "crashed": killed by
  // a signal (name in `detail`); "timeout": ran past the limit of phase `phase`.
  std::string status;
  std::string phase;  // type of the last message received ("start" before any)
  // Error message, signal name or time limit; where the child ran out of memory under its cap,
  // it says so.
  std::string detail;
  std::string stderr_tail;  // the last lines the child wrote to stderr
  double wall_seconds = 0;
};

// `timeout_after[phase]` is the limit in seconds after a message of type `phase` (and after
// "start" for the first message); phases not listed get `default_timeout`. The child's address
// space is capped at `memory_cap_bytes`.
ChildOutcome run_in_child(const std::function<void(const MessageSink&)>& body,
                          const std::map<std::string, double>& timeout_after,
                          double default_timeout,
                          unsigned long long memory_cap_bytes = kChildMemoryCapBytes);

// "8 GiB", "1.5 GiB": a memory cap as messages give it.
std::string memory_cap_text(unsigned long long bytes);

}  // namespace tensorplan::perf
