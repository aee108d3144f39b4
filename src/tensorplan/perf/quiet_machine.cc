#include "tensorplan/perf/quiet_machine.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"

namespace tensorplan::perf {

CpuTimes read_cpu_times(const std::string& proc_stat) {
  std::ifstream in(proc_stat);
  if (!in) fail("{}: cannot read", proc_stat);
  CpuTimes t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) == 0 && line.size() > 3 && std::isdigit(line[3])) {
      std::istringstream words(line.substr(3));
      std::size_t cpu = 0;
      std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                    steal = 0;
      words >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
      if (t.busy.size() <= cpu) {
        t.busy.resize(cpu + 1, 0);
        t.total.resize(cpu + 1, 0);
      }
      t.busy[cpu] = user + nice + system + irq + softirq + steal;
      t.total[cpu] = t.busy[cpu] + idle + iowait;
    } else if (line.rfind("procs_running ", 0) == 0) {
      t.procs_running = std::stoi(line.substr(14));
    }
  }
  if (t.busy.empty()) fail("{}: no per-CPU lines", proc_stat);
  return t;
}

LoadAverage read_load_average(const std::string& proc_loadavg) {
  std::ifstream in(proc_loadavg);
  LoadAverage l;
  if (!(in >> l.one >> l.five >> l.fifteen)) fail("{}: cannot read the load average", proc_loadavg);
  return l;
}

double busy_fraction(const CpuTimes& before, const CpuTimes& after, int excluded) {
  std::uint64_t busy = 0, total = 0;
  const std::size_t n = std::min(before.busy.size(), after.busy.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (static_cast<int>(i) == excluded) continue;
    busy += after.busy[i] - before.busy[i];
    total += after.total[i] - before.total[i];
  }
  return total ? static_cast<double>(busy) / static_cast<double>(total) : 0;
}

Json conditions_to_json(const MachineConditions& c) {
  const auto load = [](const LoadAverage& l) { return Json::array({l.one, l.five, l.fifteen}); };
  return {{"load_before", load(c.load_before)},
          {"load_after", load(c.load_after)},
          {"other_busy_before", c.other_busy_before},
          {"other_busy_during", c.other_busy_during},
          {"waited_seconds", c.waited_seconds},
          {"quiet", c.quiet},
          {"involuntary_switches", c.involuntary_switches},
          {"timing_cpu", c.timing_cpu},
          {"attempt", c.attempt},
          {"reference_before", c.reference_before},
          {"reference_after", c.reference_after},
          {"reference_baseline", c.reference_baseline},
          {"reference_reset", c.reference_reset},
          {"cpu", c.cpu}};
}

bool wait_until_quiet(const QuietOptions& options, int cpu, MachineConditions* c,
                      const std::function<void(const std::string&)>& report) {
  Stopwatch waited;
  double next_report = 0;  // a line a minute while waiting, not one per window
  for (;;) {
    const CpuTimes before = read_cpu_times();
    std::this_thread::sleep_for(std::chrono::duration<double>(options.window_seconds));
    const CpuTimes after = read_cpu_times();
    c->load_before = read_load_average();
    c->other_busy_before = busy_fraction(before, after, cpu);
    c->waited_seconds = waited.seconds();
    const bool quiet =
        c->load_before.one <= options.max_load && c->other_busy_before <= options.max_other_busy;
    if (quiet || !options.enabled) return quiet;
    if (options.max_wait_seconds > 0 && c->waited_seconds >= options.max_wait_seconds) return false;
    if (report && c->waited_seconds >= next_report) {
      next_report = c->waited_seconds + 60;
      report(
          fmt::format("waiting for a quiet machine ({:.0f} s so far): load {:.2f} (want <= "
                      "{:.2f}), other CPUs {:.0f}% busy (want <= {:.0f}%)",
                      c->waited_seconds, c->load_before.one, options.max_load,
                      c->other_busy_before * 100, options.max_other_busy * 100));
    }
  }
}

namespace {
volatile float reference_sink = 0;
}  // namespace

double reference_seconds(int repeats) {
  // 64 KiB of floats (in L2 on any machine) updated over and over: the clock and the core; then
  // 4 MiB freshly allocated, written and read: page faults and memory.
  constexpr std::size_t kHot = 16 * 1024, kCold = 1024 * 1024;
  constexpr int kHotPasses = 200;
  double best = 0;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    Stopwatch clock;
    std::vector<float> hot(kHot, 1.0f);
    float acc = 0.0f;
    for (int pass = 0; pass < kHotPasses; ++pass)
      for (std::size_t i = 0; i < kHot; ++i) {
        hot[i] = hot[i] * 0.9999f + 0.0001f * static_cast<float>(i & 7);
        acc += hot[i];
      }
    std::vector<std::uint32_t> cold(kCold);
    for (std::size_t i = 0; i < kCold; ++i) cold[i] = static_cast<std::uint32_t>(i * 2654435761u);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kCold; i += 7) sum += cold[i];
    reference_sink = acc + static_cast<float>(sum & 1);  // keeps the work from being optimised out
    const double seconds = clock.seconds();
    if (r == 0 || seconds < best) best = seconds;
  }
  return best;
}

void ReferenceHistory::add(double at, double seconds) {
  if (seconds > 0) seen_.emplace_back(at, seconds);
}

void ReferenceHistory::reset(double at) { reset_at_ = std::max(reset_at_, at); }

double ReferenceHistory::baseline(double now, double window_seconds) const {
  std::vector<double> recent, since_reset;
  for (const auto& [at, seconds] : seen_) {
    if (at < reset_at_) continue;
    since_reset.push_back(seconds);
    if (at >= now - window_seconds) recent.push_back(seconds);
  }
  std::vector<double>& figures = recent.empty() ? since_reset : recent;
  if (figures.empty()) return 0;
  // The lower median: an even count does not average a fast and a slow spell.
  auto middle = figures.begin() + static_cast<std::ptrdiff_t>((figures.size() - 1) / 2);
  std::nth_element(figures.begin(), middle, figures.end());
  return *middle;
}

int timing_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  for (int cpu = CPU_SETSIZE - 1; cpu >= 0; --cpu) {
    if (CPU_ISSET(cpu, &set)) return cpu;
  }
  return -1;
}

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof set, &set);
}

}  // namespace tensorplan::perf
