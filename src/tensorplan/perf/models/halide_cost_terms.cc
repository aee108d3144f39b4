#include "tensorplan/perf/models/halide_cost_terms.h"

#include <string>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/halide/featurizer.h"

namespace tensorplan::perf {

namespace {

// Column of a schedule feature by its Halide name (kScheduleFeatureNames is the source of truth).
int column(const char* name) {
  for (int i = 0; i < kScheduleFeatureCount; ++i)
    if (std::string(name) == kScheduleFeatureNames[static_cast<std::size_t>(i)]) return i;
  fail("halide model: no schedule feature named '{}'", name);
}

}  // namespace

torch::Tensor halide_cost_terms(const torch::Tensor& schedule, const torch::Tensor& last_stage,
                                int num_cores) {
  static const struct Columns {
    int num_realizations = column("num_realizations");
    int num_productions = column("num_productions");
    int inner_parallelism = column("inner_parallelism");
    int outer_parallelism = column("outer_parallelism");
    int bytes_at_realization = column("bytes_at_realization");
    int bytes_at_production = column("bytes_at_production");
    int inlined_calls = column("inlined_calls");
    int unique_bytes_read_per_realization = column("unique_bytes_read_per_realization");
    int unique_lines_read_per_realization = column("unique_lines_read_per_realization");
    int working_set = column("working_set");
    int vector_size = column("vector_size");
    int num_vectors = column("num_vectors");
    int num_scalars = column("num_scalars");
    int scalar_loads_per_vector = column("scalar_loads_per_vector");
    int vector_loads_per_vector = column("vector_loads_per_vector");
    int scalar_loads_per_scalar = column("scalar_loads_per_scalar");
    int bytes_at_task = column("bytes_at_task");
    int innermost_bytes_at_task = column("innermost_bytes_at_task");
    int unique_bytes_read_per_vector = column("unique_bytes_read_per_vector");
    int unique_lines_read_per_vector = column("unique_lines_read_per_vector");
    int unique_bytes_read_per_task = column("unique_bytes_read_per_task");
    int unique_lines_read_per_task = column("unique_lines_read_per_task");
  } c;
  const int last_dim = static_cast<int>(schedule.dim()) - 1;
  const auto f = [&](int i) { return schedule.select(last_dim, i); };
  const torch::Tensor inner_par = f(c.inner_parallelism);
  const torch::Tensor num_vectors = f(c.num_vectors);
  const torch::Tensor num_scalars = f(c.num_scalars);
  const torch::Tensor num_realizations = f(c.num_realizations);
  const torch::Tensor num_productions = f(c.num_productions);
  const torch::Tensor innermost_bytes_at_task = f(c.innermost_bytes_at_task).clamp_min(1);
  const torch::Tensor parallel = (inner_par > 1).to(schedule.scalar_type());
  const torch::Tensor serial = 1 - parallel;
  const torch::Tensor last = last_stage.to(schedule.scalar_type());
  const torch::Tensor zero = torch::zeros_like(inner_par);

  // Compute, with separate coefficients for inlined stages, rounded up to whole waves of tasks.
  const torch::Tensor num_tasks = (inner_par * f(c.outer_parallelism)).clamp_min(1);
  const torch::Tensor tasks_per_core = num_tasks / static_cast<float>(num_cores);
  const torch::Tensor waves = torch::ceil(tasks_per_core) / tasks_per_core.clamp_min(1);
  const torch::Tensor not_inlined = (f(c.inlined_calls) == 0).to(schedule.scalar_type());
  const torch::Tensor vector_work = f(c.vector_size) * num_vectors * waves;
  const torch::Tensor scalar_work = num_scalars * waves;

  // Stores: separate coefficients for stages with inner parallelism (their values go to other
  // cores) and for the output stage (never loaded again). Halide's shipped weights were fitted
  // with the store cost counted twice; it is kept so.
  const torch::Tensor lines_written = inner_par * (f(c.bytes_at_task) / innermost_bytes_at_task);
  const torch::Tensor lines_stored = 2 * num_realizations * lines_written;
  const torch::Tensor bytes_stored = 2 * num_realizations * f(c.bytes_at_realization);
  const torch::Tensor serial_last = serial * last, serial_other = serial * (1 - last);
  // False sharing of cache lines, and page faults served serially while every thread waits.
  const torch::Tensor threads_on_same_page = torch::minimum(
      inner_par, torch::div(torch::full_like(inner_par, 4096), innermost_bytes_at_task));

  return torch::stack(
      {
          vector_work * not_inlined,                                             // 0
          scalar_work * not_inlined,                                             // 1
          vector_work * (1 - not_inlined),                                       // 2
          scalar_work * (1 - not_inlined),                                       // 3
          zero,                                                                  // 4 (unused)
          num_realizations * f(c.unique_lines_read_per_realization),             // 5
          num_realizations * f(c.unique_bytes_read_per_realization),             // 6
          num_vectors * f(c.scalar_loads_per_vector),                            // 7
          num_scalars * f(c.scalar_loads_per_scalar),                            // 8
          num_vectors * f(c.vector_loads_per_vector),                            // 9
          num_scalars * f(c.unique_bytes_read_per_vector),                       // 10
          num_vectors * f(c.unique_bytes_read_per_vector),                       // 11
          num_scalars * f(c.unique_lines_read_per_vector),                       // 12
          num_vectors * f(c.unique_lines_read_per_vector),                       // 13
          num_tasks * f(c.unique_bytes_read_per_task),                           // 14
          num_tasks * f(c.unique_lines_read_per_task),                           // 15
          lines_stored * parallel,                                               // 16
          lines_stored * serial_last,                                            // 17
          lines_stored * serial_other,                                           // 18
          bytes_stored * parallel,                                               // 19
          bytes_stored * serial_last,                                            // 20
          bytes_stored * serial_other,                                           // 21
          2 * parallel * (num_vectors + num_scalars) / innermost_bytes_at_task,  // 22
          2 * f(c.bytes_at_production) * threads_on_same_page * inner_par *
              f(c.outer_parallelism),         // 23
          num_realizations,                   // 24 mallocs
          num_productions * parallel,         // 25 parallel launches
          num_productions * (inner_par - 1),  // 26 tasks
          f(c.working_set),                   // 27
      },
      -1);  // a new innermost dimension
}

}  // namespace tensorplan::perf
