// tensorplan mem place: MiniMalloc-CSV placement instances in, offsets out.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "numeric_options.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/csv.h"
#include "tensorplan/mem/place/portfolio.h"
#include "tensorplan/mem/place/problem.h"
#include "tensorplan/mem/place/search.h"

namespace tensorplan::cli {

namespace {

struct PlaceOptions {
  std::string instance;
  std::string output;  // empty: none; "-": stdout
  std::int64_t alignment = 1;
  double time_limit = 10;
  std::optional<std::int64_t> capacity;  // fit under it, or say it cannot be done
  bool greedy = false;                   // the heuristics only: no search
  bool minimize = false;                 // the default now; kept so that old scripts still run
  bool ilp = false;                      // also try the address ILP (small instances)
  bool validate = false;                 // check the instance's own offsets instead of placing
  int threads = 0;                       // search threads; 0: one per core
  bool json = false;
  bool quiet = false;
};

// What a search status means to a reader.
std::string describe(mem::place::SearchStatus status, bool out_of_time) {
  using mem::place::SearchStatus;
  switch (status) {
    case SearchStatus::kOptimal:
      return "optimal (proven: at the lower bound)";
    case SearchStatus::kFeasible:
      return out_of_time ? "not proven optimal (the search stopped at the time limit)"
                         : "not proven optimal";
    case SearchStatus::kInfeasible:
      return "proven impossible";
    case SearchStatus::kUnknown:
      break;
  }
  return "no placement found (not proven impossible)";
}

double percent_above(std::int64_t value, std::int64_t bound) {
  return bound > 0 ? 100.0 * static_cast<double>(value - bound) / static_cast<double>(bound) : 0.0;
}

// --validate: the instance's own offset column, checked. Exit 0 valid, 1 invalid.
void run_validate(const PlaceOptions& options, const mem::place::CsvInstance& instance) {
  using namespace tensorplan::mem::place;
  const Problem& problem = instance.problem;
  if (!instance.offsets)
    fail("{}: --validate needs an offset column (id,lower,upper,size,offset)", options.instance);
  std::string why;
  const bool valid = is_valid(problem, *instance.offsets, &why, &instance.ids);
  const std::int64_t bound = max_live(problem);
  if (options.json) {
    nlohmann::ordered_json object = {
        {"buffers", problem.buffers.size()}, {"lower_bound", bound}, {"valid", valid}};
    if (valid) {
      object["height"] = height(problem, *instance.offsets);
      object["top"] = top(problem, *instance.offsets);
    } else {
      object["problem"] = why;
    }
    std::printf("%s\n", object.dump().c_str());
  } else if (valid) {
    const std::int64_t h = height(problem, *instance.offsets);
    std::printf("valid: %zu buffers, height %lld (%.2f%% above the lower bound %lld)\n",
                problem.buffers.size(), static_cast<long long>(h), percent_above(h, bound),
                static_cast<long long>(bound));
  } else {
    std::printf("invalid: %s\n", why.c_str());
  }
  std::fflush(stdout);
  if (!valid) std::exit(1);
}

void run_place(const PlaceOptions& options) {
  check_output_paths({options.output});
  using namespace tensorplan::mem::place;
  Stopwatch clock;
  CsvInstance instance = read_csv(options.instance);
  Problem& problem = instance.problem;
  problem.alignment = options.alignment;
  if (options.validate) return run_validate(options, instance);
  if (options.greedy && options.capacity)
    fail("--greedy and --capacity do not go together: a capacity needs the search");

  // The portfolio: the heuristics, then (unless --greedy) the exact search for the lowest height
  // (or, with a capacity, one under it) from the best of them, then (--ilp) the address ILP, in
  // the time that is left.
  const Deadline deadline(options.time_limit);
  Progress progress(fmt::format("placing {} buffers", problem.buffers.size()), 0, options.quiet);
  PortfolioOptions portfolio;
  portfolio.capacity = options.capacity;
  portfolio.minimize = !options.greedy;
  portfolio.use_ilp = options.ilp;
  portfolio.search_threads = options.threads;
  portfolio.on_search_progress = [&](const SearchProgress& p) {
    progress.status(fmt::format("search (part {} of {}): height {}, lower bound {}", p.part,
                                p.parts, p.height < 0 ? "-" : std::to_string(p.height),
                                p.lower_bound));
  };
  const PortfolioResult placed = place_with_portfolio(problem, portfolio, deadline);
  progress.finish();
  const bool searched = !options.greedy;
  if (!placed.placement) {
    if (options.json) {  // machine output on failure too, with the same fields where they apply
      nlohmann::ordered_json object = {
          {"buffers", problem.buffers.size()},         {"lower_bound", placed.lower_bound},
          {"capacity", options.capacity.value_or(0)},  {"fits", false},
          {"search_status", to_string(placed.status)}, {"seconds", clock.seconds()}};
      std::printf("%s\n", object.dump().c_str());
    } else {
      const bool out_of_time = placed.status == SearchStatus::kUnknown && deadline.expired();
      std::printf("does not fit under capacity %lld: %s\n",
                  static_cast<long long>(options.capacity.value_or(0)),
                  placed.status == SearchStatus::kInfeasible
                      ? "proven impossible (no placement is that low)"
                  : out_of_time ? "no placement found within the time limit (not proven impossible)"
                                : "no placement found (not proven impossible)");
    }
    std::fflush(stdout);
    std::exit(1);
  }
  const std::vector<std::int64_t>& offsets = placed.placement->offsets;
  std::string why;
  if (!is_valid(problem, offsets, &why, &instance.ids))  // never write an invalid placement
    fail("internal error: {} gave an invalid placement of {}: {}", placed.method, options.instance,
         why);
  const std::int64_t arena = height(problem, offsets);
  const std::int64_t last_byte = top(problem, offsets);
  const std::int64_t bound = placed.lower_bound;
  const double seconds = clock.seconds();

  // What the input's own offset column is worth, when it has one.
  std::optional<std::string> input_placement;
  if (instance.offsets) {
    std::string input_why;
    input_placement = is_valid(problem, *instance.offsets, &input_why, &instance.ids)
                          ? fmt::format("height {}", height(problem, *instance.offsets))
                          : fmt::format("invalid: {}", input_why);
  }

  if (options.output == "-")
    std::fputs(format_csv(problem, offsets, instance.ids).c_str(), stdout);
  else if (!options.output.empty())
    write_csv(options.output, problem, offsets, instance.ids);

  // The summary goes to stdout, unless the CSV took it.
  FILE* summary = options.output == "-" ? stderr : stdout;
  if (options.json) {
    nlohmann::ordered_json object = {{"buffers", problem.buffers.size()},
                                     {"lower_bound", bound},
                                     {"height", arena},
                                     {"method", placed.method},
                                     {"seconds", seconds}};
    if (problem.alignment > 1) object["top"] = last_byte;
    if (searched) {
      object["search_status"] = to_string(placed.status);
      object["proven_optimal"] = placed.status == SearchStatus::kOptimal;
    }
    if (options.capacity) object["capacity"] = *options.capacity;
    if (input_placement) object["input_offsets"] = *input_placement;
    std::fprintf(summary, "%s\n", object.dump().c_str());
  } else {
    std::string text = fmt::format(
        "buffers      {}\n"
        "lower bound  {} (proven: no placement is lower)\n"
        "height       {} ({:.2f}% above the bound)\n",
        problem.buffers.size(), bound, arena, percent_above(arena, bound));
    if (problem.alignment > 1)
      text += fmt::format("top          {} (the last byte used: max offset + size, not rounded)\n",
                          last_byte);
    text += fmt::format("method       {}\nseconds      {:.3f}\n", placed.method, seconds);
    text += fmt::format("search       {}\n", searched ? describe(placed.status, deadline.expired())
                                                      : "none (--greedy: the heuristics only)");
    if (input_placement) text += fmt::format("input        {}\n", *input_placement);
    std::fputs(text.c_str(), summary);
  }
}

}  // namespace

void add_mem_place(CLI::App& mem) {
  auto options = std::make_shared<PlaceOptions>();
  CLI::App* command = mem.add_subcommand(
      "place", "Place buffers with fixed lifetimes in one arena (MiniMalloc CSV in and out)");
  command->footer(
      "\nGive every buffer of a placement instance a byte offset so that buffers live at the same\n"
      "time never overlap, keeping the arena (the highest offset + size) small. Runs the greedy\n"
      "heuristics (TFLite's greedy-by-size best-fit, XLA's variants, most contended first, an\n"
      "allocator-like sweep), then an exact branch-and-bound search (in the spirit of\n"
      "MiniMalloc) from the best of them for the lowest height, until it is proven optimal or\n"
      "--time-limit runs out; with --ilp the address ILP after it. Parts of more than\n" +
      std::to_string(mem::place::kMaxSearchedBuffers) +
      " buffers overlapping in time (real training traces are one such part) are searched\n"
      "in pieces: the most loaded window, then the top of the layout (parts of more than 1000\n"
      "buffers in pieces first, then whole). With --capacity it looks for a placement under\n"
      "it; if there is none it says whether that is proven impossible or just not found, writes\n"
      "nothing, and exits with status 1.\n"
      "\n"
      "INSTANCE is MiniMalloc's CSV: a header `id,lower,upper,size[,offset]`, then one buffer a\n"
      "row, live on the half-open time interval [lower, upper), `size` bytes. Ids are any text\n"
      "without a comma and are written back as they are. An `offset` column in the input is\n"
      "checked and reported, not reused (--validate checks only it). The output has the same\n"
      "rows plus `offset`, and is checked before it is written.\n"
      "\n"
      "Prints: buffers, lower bound (the most bytes live at one time), the arena height, how far\n"
      "above the bound it is, the method that found it, seconds, and whether it is proven\n"
      "optimal. With --alignment, sizes count rounded up in the height; --capacity bounds the\n"
      "last byte used (max offset + size), as MiniMalloc's height.\n"
      "\n"
      "Example: tensorplan mem place A.csv -o A.placed.csv --alignment 64");
  command->add_option("INSTANCE", options->instance, "placement instance (.csv or .csv.gz)")
      ->required();
  command->add_option("-o,--output", options->output,
                      "write the placed instance here (\"-\": stdout, summary then on stderr)");
  command
      ->add_option("--alignment", options->alignment,
                   "offsets are multiples of this many bytes; sizes count rounded up to it")
      ->check(integer_in(1, kMaxAlignment))
      ->capture_default_str();
  command
      ->add_option("--time-limit", options->time_limit,
                   "wall-clock seconds for the heuristics and the search")
      ->check(number_in(0, kMaxSeconds))
      ->capture_default_str();
  command
      ->add_option("--capacity", options->capacity,
                   "fit under this many bytes (search until found or proven impossible)")
      ->check(integer_in(1, kMaxBytesOption));
  command->add_flag("--greedy", options->greedy,
                    "the heuristics only, no search (milliseconds; not with --capacity)");
  // The search for the smallest height is the default now; the flag stays for old scripts.
  command->add_flag("--minimize", options->minimize)->group("");
  command->add_flag("--ilp", options->ilp,
                    fmt::format("after the search, also try the OLLA address ILP (CBC) if the "
                                "instance has at\nmost {} pairs of buffers live at the same time",
                                mem::place::PortfolioOptions().ilp_max_pairs));
  command->add_flag("--validate", options->validate,
                    "check the instance's own offset column instead of placing (exit 0 valid,\n"
                    "1 invalid)");
  command
      ->add_option("--threads", options->threads,
                   "search strategies run at the same time (0: one per core); the result does\n"
                   "not depend on it, only the speed")
      ->check(integer_in(0, 256))
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "print one JSON object: buffers, lower_bound, height, method, seconds,\n"
                    "search_status, proven_optimal (and top, capacity, input_offsets)");
  command->add_flag("-q,--quiet", options->quiet, "no progress on stderr");
  command->callback([options] { run_place(*options); });
}

}  // namespace tensorplan::cli
