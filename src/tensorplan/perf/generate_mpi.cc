// The MPI entry point of `perf gen`: every rank generates its own shard; nothing is exchanged but
// the final counts. Each rank forks its sample processes; they never call MPI.
#include <cstdio>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/generate.h"

#if defined(TENSORPLAN_HAVE_MPI)
// The C API only: OpenMPI's deprecated C++ bindings need a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace tensorplan::perf {

#if defined(TENSORPLAN_HAVE_MPI)

bool mpi_available() { return true; }

GenerateSummary generate_shard_mpi(GenerateOptions options, int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(argc, argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  options.shard = rank;
  options.shards = size;
  if (rank != 0) options.quiet = true;  // one progress bar, not N interleaved ones
  GenerateSummary summary;
  int ok = 1;
  std::string error;
  try {
    summary = generate_shard(options);
  } catch (const Error& e) {
    ok = 0;
    error = e.what();
  }
  // Every rank reports; rank 0 sums.
  long long local[4] = {summary.samples_measured, summary.samples_ok,
                        summary.samples_before + summary.samples_measured, ok};
  long long total[4] = {0, 0, 0, 0};
  MPI_Reduce(local, total, 4, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (!ok) std::fprintf(stderr, "tensorplan: error: rank %d: %s\n", rank, error.c_str());
  if (rank == 0) {
    std::fprintf(stderr,
                 "perf gen (MPI, %d ranks): measured %lld samples, %lld ok; shards now hold %lld\n",
                 size, total[0], total[1], total[2]);
  }
  MPI_Finalize();
  if (!ok) fail("rank {}: {}", rank, error);
  if (total[3] != size && rank == 0) fail("{} of {} ranks failed", size - total[3], size);
  return summary;
}

#else

bool mpi_available() { return false; }

GenerateSummary generate_shard_mpi(GenerateOptions, int*, char***) {
  fail("this tensorplan was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif

}  // namespace tensorplan::perf
