// tensorplan mem place: MiniMalloc-CSV placement instances in, offsets out.
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/mem/place/csv.h"
#include "tensorplan/mem/place/placer.h"
#include "tensorplan/mem/place/problem.h"

namespace tensorplan::cli {

namespace {

struct PlaceOptions {
  std::string instance;
  std::string output;  // empty: none; "-": stdout
  std::int64_t alignment = 1;
  double time_limit = std::numeric_limits<double>::infinity();
  bool json = false;
};

void run_place(const PlaceOptions& options) {
  using namespace tensorplan::mem::place;
  Stopwatch clock;
  CsvInstance instance = read_csv(options.instance);
  Problem& problem = instance.problem;
  problem.alignment = options.alignment;

  // The portfolio: the greedy heuristics now; the exact search and the address ILP join it here.
  const auto placers = heuristic_placers();
  const BestPlacement best = place_best(problem, placers, Deadline(options.time_limit));
  const std::vector<std::int64_t>& offsets = best.placement.offsets;
  std::string why;
  if (!is_valid(problem, offsets, &why))  // never write an invalid placement
    fail("internal error: {} gave an invalid placement of {}: {}", best.method, options.instance,
         why);
  const std::int64_t arena = height(problem, offsets);
  const std::int64_t bound = max_live(problem);
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
                                     {"method", best.method},
                                     {"seconds", seconds}};
    if (input_placement) object["input_offsets"] = *input_placement;
    std::fprintf(summary, "%s\n", object.dump().c_str());
  } else {
    std::string text = fmt::format(
        "buffers      {}\n"
        "lower bound  {} (max live bytes)\n"
        "height       {} ({:.2f}% above the bound)\n"
        "method       {}\n"
        "seconds      {:.3f}\n",
        problem.buffers.size(), bound, arena, gap, best.method, seconds);
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
      "heuristics (TFLite's greedy-by-size best-fit and XLA's variants) and keeps the lowest.\n"
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
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30))
      ->capture_default_str();
  command
      ->add_option("--time-limit", options->time_limit,
                   "Seconds; no new method starts after it (the first always runs)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", options->json,
                    "Print one JSON object: buffers, lower_bound, height, method, seconds");
  command->callback([options] { run_place(*options); });
}

}  // namespace tensorplan::cli
