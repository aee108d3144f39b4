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
  bool minimize = false;                 // search for the smallest height
  bool ilp = false;                      // also try the address ILP (small instances)
  int threads = 0;                       // search threads; 0: one per core
  bool json = false;
};

void run_place(const PlaceOptions& options) {
  check_output_paths({options.output});
  using namespace tensorplan::mem::place;
  Stopwatch clock;
  CsvInstance instance = read_csv(options.instance);
  Problem& problem = instance.problem;
  problem.alignment = options.alignment;

  // The portfolio: the heuristics, then (asked for a capacity or the minimum) the exact search
  // starting from the best of them, then (--ilp) the address ILP, in the time that is left.
  const Deadline deadline(options.time_limit);
  PortfolioOptions portfolio;
  portfolio.capacity = options.capacity;
  portfolio.minimize = options.minimize;
  portfolio.use_ilp = options.ilp;
  portfolio.search_threads = options.threads;
  const PortfolioResult placed = place_with_portfolio(problem, portfolio, deadline);
  const bool searched = options.capacity || options.minimize;
  if (!placed.placement) {
    const bool proven = placed.status == SearchStatus::kInfeasible;
    if (options.json) {  // machine output on failure too, with the same fields where they apply
      nlohmann::ordered_json object = {
          {"buffers", problem.buffers.size()},         {"lower_bound", placed.lower_bound},
          {"capacity", options.capacity.value_or(0)},  {"fits", false},
          {"search_status", to_string(placed.status)}, {"seconds", clock.seconds()}};
      std::printf("%s\n", object.dump().c_str());
    } else {
      std::printf("does not fit under capacity %lld: %s\n",
                  static_cast<long long>(options.capacity.value_or(0)),
                  proven ? "proven impossible (no placement is that low)"
                         : "no placement found within the time limit (not proven impossible)");
    }
    std::fflush(stdout);
    std::exit(1);
  }
  const std::vector<std::int64_t>& offsets = placed.placement->offsets;
  std::string why;
  if (!is_valid(problem, offsets, &why))  // never write an invalid placement
    fail("internal error: {} gave an invalid placement of {}: {}", placed.method, options.instance,
         why);
  const std::int64_t arena = height(problem, offsets);
  const std::int64_t bound = placed.lower_bound;
  const double seconds = clock.seconds();

  // What the input's own offset column is worth, when it has one.
  std::optional<std::string> input_placement;
  if (instance.offsets) {
    std::string input_why;
    input_placement = is_valid(problem, *instance.offsets, &input_why)
                          ? fmt::format("height {}", height(problem, *instance.offsets))
                          : fmt::format("invalid: {}", input_why);
  }

  if (options.output == "-")
    std::fputs(format_csv(problem, offsets).c_str(), stdout);
  else if (!options.output.empty())
    write_csv(options.output, problem, offsets);

  // The summary goes to stdout, unless the CSV took it.
  FILE* summary = options.output == "-" ? stderr : stdout;
  const double gap =
      bound > 0 ? 100.0 * static_cast<double>(arena - bound) / static_cast<double>(bound) : 0.0;
  if (options.json) {
    nlohmann::ordered_json object = {{"buffers", problem.buffers.size()},
                                     {"lower_bound", bound},
                                     {"height", arena},
                                     {"method", placed.method},
                                     {"seconds", seconds}};
    if (searched) object["search_status"] = to_string(placed.status);
    if (options.capacity) object["capacity"] = *options.capacity;
    if (input_placement) object["input_offsets"] = *input_placement;
    std::fprintf(summary, "%s\n", object.dump().c_str());
  } else {
    std::string text = fmt::format(
        "buffers      {}\n"
        "lower bound  {} (proven: no placement is lower)\n"
        "height       {} ({:.2f}% above the bound)\n"
        "method       {}\n"
        "seconds      {:.3f}\n",
        problem.buffers.size(), bound, arena, gap, placed.method, seconds);
    if (searched) text += fmt::format("search       {}\n", to_string(placed.status));
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
      "heuristics (TFLite's greedy-by-size best-fit, XLA's variants, an allocator-like sweep) and\n"
      "keeps the lowest; with --capacity or --minimize an exact branch-and-bound search (in the\n"
      "spirit of MiniMalloc) then starts from it, and with --ilp the address ILP after it. If the\n"
      "instance cannot be placed under --capacity, it says whether that is proven impossible or\n"
      "just not found in time, writes nothing, and exits with status 1.\n"
      "\n"
      "INSTANCE is MiniMalloc's CSV: a header `id,lower,upper,size[,offset]`, then one buffer a\n"
      "row, live on the half-open time interval [lower, upper), `size` bytes. An `offset` column\n"
      "in the input is checked and reported, not reused. The output has the same rows plus\n"
      "`offset`, and is checked before it is written.\n"
      "\n"
      "Prints: buffers, lower bound (the most bytes live at one time), the arena height, how far\n"
      "above the bound it is, the method that found it, and seconds.\n"
      "\n"
      "Example: tensorplan mem place A.csv -o A.placed.csv --alignment 64");
  command->add_option("INSTANCE", options->instance, "Placement instance (.csv or .csv.gz)")
      ->required();
  command->add_option("-o,--output", options->output,
                      "Write the placed instance here (\"-\": stdout, summary then on stderr)");
  command
      ->add_option("--alignment", options->alignment,
                   "Offsets are multiples of this many bytes; sizes count rounded up to it")
      ->check(integer_in(1, kMaxAlignment))
      ->capture_default_str();
  command
      ->add_option("--time-limit", options->time_limit,
                   "Wall-clock seconds for the heuristics and the search")
      ->check(number_in(0, kMaxSeconds))
      ->capture_default_str();
  command
      ->add_option("--capacity", options->capacity,
                   "Fit under this many bytes (search until found or proven impossible)")
      ->check(integer_in(1, kMaxBytesOption));
  command->add_flag("--minimize", options->minimize,
                    "Search for the smallest height (stops at the proven lower bound)");
  command->add_flag("--ilp", options->ilp,
                    "After the search, also try the OLLA address ILP (CBC) if the instance has at\n"
                    "most 5000 pairs of buffers live at the same time");
  command
      ->add_option("--threads", options->threads,
                   "Search strategies run at the same time (0: one per core); the result does\n"
                   "not depend on it, only the speed")
      ->check(integer_in(0, 256))
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "Print one JSON object: buffers, lower_bound, height, method, seconds\n"
                    "(and search_status, capacity when searching)");
  command->callback([options] { run_place(*options); });
}

}  // namespace tensorplan::cli
