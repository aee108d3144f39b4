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
  };
  auto args = std::make_shared<MergeArgs>();
  CLI::App* merge = perf.add_subcommand(
      "merge", "Merge the shards of one run (files or directories) into one shard file");
  merge->add_option("inputs", args->inputs, "Shard files or directories")->required();
  merge->add_option("-o,--out", args->output, "The merged shard file to write")->required();
  merge->callback([args] {
    check_output_paths({args->output});
    perf::merge_shards(args->inputs, args->output);
    std::fprintf(stderr, "perf merge: wrote %s\n", args->output.c_str());
  });
}

}  // namespace tensorplan::cli
