// tensorplan perf merge: join the shards of one run into a single shard file.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dataset_commands.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/dataset_stats.h"

namespace tensorplan::cli {

void add_perf_merge(CLI::App& perf) {
  struct MergeArgs {
    std::vector<std::string> inputs;
    std::string output;
    bool quiet = false;
  };
  auto args = std::make_shared<MergeArgs>();
  CLI::App* merge = perf.add_subcommand(
      "merge", "Merge the shards of one run (files or directories) into one shard file");
  merge->footer(
      "\nExample:\n"
      "  tensorplan perf merge data/perf-v2 -o all.tpshard   # every shard of the directory");
  merge->add_option("SHARD", args->inputs, "shard files or directories")->required();
  // --out: the name before the options were made one across subcommands.
  merge->add_option("-o,--output,--out", args->output, "the merged shard file to write")
      ->required();
  merge->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  merge->callback([args] {
    check_output_paths({args->output});
    perf::merge_shards(args->inputs, args->output);
    if (!args->quiet) std::fprintf(stderr, "perf merge: wrote %s\n", args->output.c_str());
  });
}

}  // namespace tensorplan::cli
