#include "tensorplan/mem/schedule/ordering_ilp.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/lower_bound.h"
#include "tensorplan/mem/schedule/step_windows.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::schedule {

namespace {

using ilp::ColumnType;

// A model variable, or a constant where the windows fix its value.
struct Term {
  int column = -1;   // >= 0: a column of the model
  double value = 0;  // the constant when column < 0
};

// A linear expression being assembled into a row.
struct Expression {
  std::vector<int> columns;
  std::vector<double> coefficients;
  double constant = 0;

  void add(Term term, double coefficient) {
    if (term.column >= 0) {
      columns.push_back(term.column);
      coefficients.push_back(coefficient);
    } else {
      constant += coefficient * term.value;
    }
  }
};

// Builds one of the two encodings, and the MIP start's values alongside the columns.
class OrderModelBuilder {
 public:
  OrderModelBuilder(const Graph& graph, const StepWindows& windows, const OrderIlpOptions& options,
                    std::int64_t unit, std::int64_t lower_bound_units,
                    const std::vector<int>& start_order, std::int64_t start_max_live)
      : graph_(graph),
        windows_(windows),
        options_(options),
        steps_(graph.num_nodes()),
        unit_(unit),
        lower_bound_units_(lower_bound_units) {
    if (!start_order.empty()) {
      have_start_ = true;
      start_lives_ = lifetimes(graph, start_order);
      start_step_.assign(steps_, 0);
      for (int s = 0; s < steps_; ++s) start_step_[start_order[s]] = s;
      start_peak_units_ = start_max_live / unit_;
    }
  }

  void build() {
    classify_tensors();
    // Objective: the peak, in units; integral, which lets CBC round its bound up.
    const bool integral = total_units_ < 1e15;
    peak_ = add_column(integral ? ColumnType::kInteger : ColumnType::kContinuous,
                       options_.drop_redundant ? static_cast<double>(lower_bound_units_) : 0,
                       ilp::kInfinity,
                       static_cast<double>(std::max(start_peak_units_, lower_bound_units_)));
    model_.set_objective(peak_, 1);
    if (options_.formulation == OrderFormulation::kOlla) {
      build_olla();
    } else {
      build_cumulative();
    }
  }

  // Node steps from a solution: an order (nodes sorted by step), or empty if inconsistent.
  std::vector<int> extract_order(const std::vector<double>& solution) const {
    std::vector<int> step(steps_, -1);
    for (int v = 0; v < steps_; ++v) {
      const int a = windows_.earliest[v];
      const int l = windows_.latest[v];
      if (options_.formulation == OrderFormulation::kOlla) {
        double best = -1;
        for (int s = a; s <= l; ++s) {
          const double value = solution[first_[v] + (s - a)];
          if (value > best) best = value, step[v] = s;
        }
      } else {
        step[v] = l;
        for (int s = a; s < l; ++s) {
          if (solution[first_[v] + (s - a)] > 0.5) {
            step[v] = s;
            break;
          }
        }
      }
    }
    std::vector<int> order(steps_, -1);
    for (int v = 0; v < steps_; ++v) {
      if (order[step[v]] >= 0) return {};
      order[step[v]] = v;
    }
    return order;
  }

  ilp::Model& model() { return model_; }
  const std::vector<double>& start_values() const { return start_values_; }
  bool have_start() const { return have_start_; }

 private:
  // What a non-persistent tensor's liveness depends on.
  struct TensorInfo {
    bool in_model = false;  // contributes to memory rows
    double units = 0;       // size / unit
    int live_end = 0;       // last step it can possibly be live at
  };

  void classify_tensors() {
    info_.resize(graph_.num_tensors());
    persistent_units_ = 0;
    total_units_ = 0;
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      const Tensor& tensor = graph_.tensors[t];
      const double units = static_cast<double>(tensor.size / unit_);
      total_units_ += units;
      if (tensor.persistent()) {
        persistent_units_ += units;
        continue;
      }
      TensorInfo& info = info_[t];
      info.in_model = !(options_.drop_redundant && tensor.size == 0);
      info.units = units;
      const int p = tensor.producer;
      if (tensor.output) {
        info.live_end = steps_ - 1;
      } else if (tensor.consumers.empty()) {
        info.live_end = windows_.latest[p];
      } else {
        info.live_end = 0;
        for (int c : tensor.consumers) info.live_end = std::max(info.live_end, windows_.latest[c]);
      }
    }
    // The most bytes each step could hold: a step whose most is within the simple lower bound
    // never decides the peak (peak >= that bound anyway), so it needs no memory row.
    std::vector<double> most(steps_ + 1, 0);
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      if (!info_[t].in_model) continue;
      most[windows_.earliest[graph_.tensors[t].producer]] += info_[t].units;
      most[info_[t].live_end + 1] -= info_[t].units;
    }
    memory_row_at_.assign(steps_, true);
    double running = persistent_units_;
    for (int s = 0; s < steps_; ++s) {
      running += most[s];
      if (options_.drop_redundant && running <= static_cast<double>(lower_bound_units_)) {
        memory_row_at_[s] = false;
      }
    }
  }

  int add_column(ColumnType type, double lower, double upper, double start_value) {
    start_values_.push_back(start_value);
    return model_.add_column(type, lower, upper);
  }

  void add_row(const Expression& e, double lower, double upper) {
    if (e.columns.empty()) {
      // Fixed by the windows; it holds for every topological order.
      if (e.constant < lower - 1e-9 || e.constant > upper + 1e-9) {
        fail("ordering ILP: a constant row {} outside [{}, {}] (windows are wrong)", e.constant,
             lower, upper);
      }
      return;
    }
    model_.add_row(e.columns, e.coefficients, lower - e.constant, upper - e.constant);
  }

  bool started_live(int t, int s) const {
    return start_lives_[t].start <= s && s <= start_lives_[t].end;
  }

  // --- the paper's encoding -------------------------------------------------------------------

  Term run_at(int v, int s) const {
    const int a = windows_.earliest[v];
    if (s < a || s > windows_.latest[v]) return {};
    return {first_[v] + (s - a), 0};
  }
  Term preserved_at(int t, int s) const {
    const int a = windows_.earliest[graph_.tensors[t].producer];
    if (s <= a || s > info_[t].live_end || preserve_first_[t] < 0) return {};
    return {preserve_first_[t] + (s - a - 1), 0};
  }

  void build_olla() {
    first_.assign(steps_, -1);
    for (int v = 0; v < steps_; ++v) {
      for (int s = windows_.earliest[v]; s <= windows_.latest[v]; ++s) {
        const int column =
            add_column(ColumnType::kBinary, 0, 1, have_start_ && start_step_[v] == s ? 1.0 : 0.0);
        if (s == windows_.earliest[v]) first_[v] = column;
      }
    }
    // Preserve variables: only for tensors read later or kept to the end.
    preserve_first_.assign(graph_.num_tensors(), -1);
    const ColumnType preserve_type =
        options_.relax_preserve ? ColumnType::kContinuous : ColumnType::kBinary;
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      const Tensor& tensor = graph_.tensors[t];
      if (tensor.persistent() || (tensor.consumers.empty() && !tensor.output)) continue;
      const int a = windows_.earliest[tensor.producer];
      for (int s = a + 1; s <= info_[t].live_end; ++s) {
        const double value = have_start_ && started_live(t, s) && s > start_lives_[t].start;
        const int column = add_column(preserve_type, 0, 1, value);
        if (s == a + 1) preserve_first_[t] = column;
      }
    }
    // Each node runs exactly once; each step runs exactly one node.
    for (int v = 0; v < steps_; ++v) {
      Expression once;
      for (int s = windows_.earliest[v]; s <= windows_.latest[v]; ++s) once.add(run_at(v, s), 1);
      add_row(once, 1, 1);
    }
    std::vector<Expression> per_step(steps_);
    for (int v = 0; v < steps_; ++v) {
      for (int s = windows_.earliest[v]; s <= windows_.latest[v]; ++s) {
        per_step[s].add(run_at(v, s), 1);
      }
    }
    for (const Expression& e : per_step) add_row(e, 1, 1);
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      const Tensor& tensor = graph_.tensors[t];
      if (preserve_first_[t] < 0 && !(tensor.output && !tensor.persistent())) continue;
      const int p = tensor.producer;
      const int a = windows_.earliest[p];
      // Preserved only if it existed the step before: created then, or preserved then.
      for (int s = a + 1; s <= info_[t].live_end; ++s) {
        Expression chain;
        chain.add(preserved_at(t, s), 1);
        chain.add(preserved_at(t, s - 1), -1);
        chain.add(run_at(p, s - 1), -1);
        add_row(chain, -ilp::kInfinity, 0);
      }
      // Every input exists when its consumer runs.
      for (int c : tensor.consumers) {
        for (int s = windows_.earliest[c]; s <= windows_.latest[c]; ++s) {
          Expression input;
          input.add(run_at(c, s), 1);
          input.add(preserved_at(t, s), -1);
          add_row(input, -ilp::kInfinity, 0);
        }
      }
      // Outputs exist at the last step (and so, by the chain, from their creation on).
      if (tensor.output) {
        Expression kept;
        kept.add(preserved_at(t, steps_ - 1), 1);
        kept.add(run_at(p, steps_ - 1), 1);
        add_row(kept, 1, ilp::kInfinity);
      }
    }
    // Memory of each step: created + preserved <= peak.
    std::vector<Expression> memory(steps_);
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      if (graph_.tensors[t].persistent() || !info_[t].in_model) continue;
      const int p = graph_.tensors[t].producer;
      for (int s = windows_.earliest[p]; s <= info_[t].live_end; ++s) {
        if (!memory_row_at_[s]) continue;
        memory[s].add(run_at(p, s), info_[t].units);
        memory[s].add(preserved_at(t, s), info_[t].units);
      }
    }
    add_memory_rows(memory);
  }

  // --- the cumulative encoding ----------------------------------------------------------------

  Term has_run_by(int v, int s) const {
    if (s < windows_.earliest[v]) return {-1, 0};
    if (s >= windows_.latest[v]) return {-1, 1};
    return {first_[v] + (s - windows_.earliest[v]), 0};
  }

  void build_cumulative() {
    first_.assign(steps_, -1);
    for (int v = 0; v < steps_; ++v) {
      for (int s = windows_.earliest[v]; s < windows_.latest[v]; ++s) {
        const int column =
            add_column(ColumnType::kBinary, 0, 1, have_start_ && start_step_[v] <= s ? 1.0 : 0.0);
        if (s == windows_.earliest[v]) first_[v] = column;
      }
    }
    // Once run, a node stays run.
    for (int v = 0; v < steps_; ++v) {
      for (int s = windows_.earliest[v] + 1; s < windows_.latest[v]; ++s) {
        Expression monotone;
        monotone.add(has_run_by(v, s - 1), 1);
        monotone.add(has_run_by(v, s), -1);
        add_row(monotone, -ilp::kInfinity, 0);
      }
    }
    // Exactly s + 1 nodes have run by step s.
    std::vector<Expression> count(steps_);
    for (int v = 0; v < steps_; ++v) {
      for (int s = 0; s < steps_; ++s) count[s].add(has_run_by(v, s), 1);
    }
    for (int s = 0; s < steps_; ++s) add_row(count[s], s + 1, s + 1);
    // A node runs only after its predecessors have run (the windows' transitive reduction).
    for (int c = 0; c < steps_; ++c) {
      for (int p : windows_.predecessors[c]) {
        for (int s = windows_.earliest[c]; s <= windows_.latest[c]; ++s) {
          Expression after;
          after.add(has_run_by(c, s), 1);
          after.add(has_run_by(p, s - 1), -1);
          if (after.columns.empty() && after.constant <= 0) continue;
          add_row(after, -ilp::kInfinity, 0);
        }
      }
    }
    // Liveness: produced by s, and some consumer has not run before s.
    std::vector<Expression> memory(steps_);
    for (int t = 0; t < graph_.num_tensors(); ++t) {
      const Tensor& tensor = graph_.tensors[t];
      if (tensor.persistent() || !info_[t].in_model) continue;
      const int p = tensor.producer;
      const double units = info_[t].units;
      for (int s = windows_.earliest[p]; s <= info_[t].live_end; ++s) {
        if (!memory_row_at_[s]) continue;
        Expression& row = memory[s];
        if (tensor.output) {
          row.add(has_run_by(p, s), units);
          continue;
        }
        if (tensor.consumers.empty()) {
          row.add(has_run_by(p, s), units);
          row.add(has_run_by(p, s - 1), -units);
          continue;
        }
        // Consumers that certainly have not run before s make the tensor live iff produced.
        std::vector<int> open;
        bool surely_waiting = false;
        for (int c : tensor.consumers) {
          const Term done = has_run_by(c, s - 1);
          if (done.column < 0 && done.value == 0) surely_waiting = true;
          if (done.column >= 0) open.push_back(c);
        }
        if (surely_waiting) {
          row.add(has_run_by(p, s), units);
        } else if (open.size() == 1) {
          row.add(has_run_by(p, s), units);
          row.add(has_run_by(open[0], s - 1), -units);
        } else if (!open.empty()) {
          const int live = add_column(ColumnType::kContinuous, 0, 1,
                                      have_start_ && started_live(t, s) ? 1.0 : 0.0);
          for (int c : open) {
            Expression lower;
            lower.add({live, 0}, 1);
            lower.add(has_run_by(p, s), -1);
            lower.add(has_run_by(c, s - 1), 1);
            add_row(lower, 0, ilp::kInfinity);
          }
          row.add({live, 0}, units);
        }
        // (No open consumer: every consumer has surely run before s; not live.)
      }
    }
    add_memory_rows(memory);
  }

  void add_memory_rows(std::vector<Expression>& memory) {
    for (int s = 0; s < steps_; ++s) {
      if (!memory_row_at_[s]) continue;
      memory[s].add({peak_, 0}, -1);
      add_row(memory[s], -ilp::kInfinity, -persistent_units_);
    }
  }

  const Graph& graph_;
  const StepWindows& windows_;
  const OrderIlpOptions& options_;
  const int steps_;
  const std::int64_t unit_;
  const std::int64_t lower_bound_units_;

  bool have_start_ = false;
  std::vector<Lifetime> start_lives_;
  std::vector<int> start_step_;
  std::int64_t start_peak_units_ = 0;

  std::vector<TensorInfo> info_;
  double persistent_units_ = 0;
  double total_units_ = 0;
  std::vector<bool> memory_row_at_;

  ilp::Model model_;
  std::vector<double> start_values_;
  int peak_ = -1;
  std::vector<int> first_;           // per node: its first run (kOlla) or has-run (kCumulative)
  std::vector<int> preserve_first_;  // per tensor: its first preserve column (kOlla), or -1
};

std::int64_t gcd_of_sizes(const Graph& graph) {
  std::int64_t g = 0;
  for (const Tensor& t : graph.tensors) g = std::gcd(g, t.size);
  return g > 0 ? g : 1;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

}  // namespace

OrderIlpResult solve_order_ilp(const Graph& graph, const OrderIlpOptions& options) {
  const Deadline& deadline = options.deadline;
  OrderIlpResult result;
  const std::int64_t simple_bound = best_lower_bound(graph);

  // The start: given, or the best heuristic order (never worse than the reference). The
  // heuristics take O((n + e) log n), so they run whatever the deadline. Without a MIP start the
  // solver starts cold; the reference order is then only the fallback.
  if (!options.start_order.empty()) {
    std::string why;
    if (!is_topological_order(graph, options.start_order, &why)) {
      fail("{}: the ILP's start order is not a topological order: {}", graph.name, why);
    }
    result.order = options.start_order;
    result.start_method = "given";
  } else if (options.mip_start) {
    BestOrder best = best_order(graph, heuristic_schedulers(), Deadline());
    result.order = std::move(best.order);
    result.start_method = best.method;
  } else {
    result.order = graph.order;
    result.start_method = "reference";
  }
  result.start_max_live = max_live(graph, result.order);
  result.max_live = result.start_max_live;
  result.lower_bound = std::min(simple_bound, result.max_live);
  result.solver_bound_bytes = -ilp::kInfinity;
  const bool start_is_optimal = options.mip_start && result.lower_bound == result.max_live;
  if (graph.num_nodes() == 0 || start_is_optimal || deadline.expired()) {
    result.optimal = result.lower_bound == result.max_live;
    result.seconds = deadline.elapsed();
    return result;
  }

  Stopwatch build_clock;
  const StepWindows windows = options.use_windows ? step_windows(graph) : full_windows(graph);
  const std::int64_t unit = options.divide_by_gcd ? gcd_of_sizes(graph) : 1;
  result.gcd = unit;
  // Every size is a multiple of `unit`, so the bound in units may be rounded up.
  OrderModelBuilder builder(graph, windows, options, unit, ceil_div(simple_bound, unit),
                            options.mip_start ? result.order : std::vector<int>{},
                            result.start_max_live);
  builder.build();
  const ilp::Model& model = builder.model();
  result.columns = model.num_columns();
  result.integer_columns = model.num_integer_columns();
  result.rows = model.num_rows();
  result.nonzeros = model.num_nonzeros();
  result.build_seconds = build_clock.seconds();

  Progress progress("ordering ILP", 0, options.quiet);
  ilp::SolveOptions solve;
  solve.deadline = deadline;
  solve.threads = options.threads;
  solve.log = options.solver_log;
  if (builder.have_start()) solve.start = builder.start_values();
  const double bytes_per_unit = static_cast<double>(unit);
  if (!options.quiet) {
    solve.on_progress = [&](const ilp::SolveProgress& p) {
      std::string status = fmt::format("{} nodes", p.nodes);
      if (p.has_incumbent) {
        status +=
            ", incumbent " +
            format_bytes(static_cast<std::int64_t>(std::llround(p.incumbent * bytes_per_unit)));
      }
      if (std::isfinite(p.bound)) {
        status +=
            ", bound " +
            format_bytes(static_cast<std::int64_t>(std::ceil(p.bound - 1e-6) * bytes_per_unit));
      }
      if (std::isfinite(p.gap)) status += fmt::format(", gap {:.2f}%", 100 * p.gap);
      progress.update(0, status);
    };
  }
  const ilp::SolveResult solved = ilp::solve_with_cbc(model, solve);
  result.status = solved.status;
  result.solve_seconds = solved.seconds;
  result.objective_bytes = solved.objective * bytes_per_unit;
  result.solver_bound_bytes = solved.bound * bytes_per_unit;

  if (!solved.solution.empty()) {
    std::vector<int> order = builder.extract_order(solved.solution);
    if (!order.empty() && is_topological_order(graph, order)) {
      const std::int64_t peak = max_live(graph, order);
      if (peak < result.max_live) {
        result.order = std::move(order);
        result.max_live = peak;
        result.from_solver = true;
      }
    }
  }
  // The solver's bound, rounded up to whole units (sizes are multiples of the unit) after a
  // tolerance for CBC's floating point.
  if (std::isfinite(solved.bound)) {
    const double units = std::ceil(solved.bound - 1e-6 - 1e-9 * std::abs(solved.bound));
    const std::int64_t proven = static_cast<std::int64_t>(units) * unit;
    result.lower_bound = std::max(result.lower_bound, proven);
  }
  result.lower_bound = std::min(result.lower_bound, result.max_live);
  result.optimal = result.lower_bound == result.max_live;
  result.seconds = deadline.elapsed();
  progress.finish(fmt::format("{} ({}), peak {}, bound {}", ilp::to_string(result.status),
                              result.from_solver ? "solver" : result.start_method,
                              format_bytes(result.max_live), format_bytes(result.lower_bound)));
  return result;
}

}  // namespace tensorplan::mem::schedule
