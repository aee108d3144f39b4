#include "tensorplan/mem/joint_ilp.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensorplan/common/saturating.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/ilp/model.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/lower_bound.h"
#include "tensorplan/mem/reachability.h"
#include "tensorplan/mem/schedule/step_windows.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {
namespace {

// A linear expression under construction: columns and coefficients.
struct Terms {
  std::vector<int> columns;
  std::vector<double> values;
  void add(int column, double value) {
    columns.push_back(column);
    values.push_back(value);
  }
};

}  // namespace

JointIlpResult solve_joint_ilp(const Graph& graph, const JointIlpOptions& options) {
  Stopwatch clock;
  JointIlpResult result;
  const int n = graph.num_nodes();
  const int last = std::max(0, n - 1);
  const std::int64_t a = std::max<std::int64_t>(1, options.alignment);
  auto rounded = [&](int t) { return round_up(graph.tensors[t].size, a); };

  const bool start_ok = !options.start.order.empty() && check_plan(graph, options.start, a).valid;
  if (start_ok) {
    result.plan = options.start;
    result.plan.alignment = a;
    result.arena_bytes = options.start.arena_bytes;
  }
  std::vector<int> tensors;  // the ones that need a place
  std::int64_t gcd = 0;
  for (int t = 0; t < graph.num_tensors(); ++t)
    if (graph.tensors[t].size > 0) {
      tensors.push_back(t);
      gcd = std::gcd(gcd, rounded(t) / a);
    }
  if (n == 0 || tensors.empty()) {
    result.seconds = clock.seconds();
    return result;
  }
  // Units: the alignment times the GCD of the rounded sizes, unless the start's offsets are not
  // multiples of that.
  std::int64_t unit = a * std::max<std::int64_t>(1, gcd);
  if (start_ok)
    for (int t : tensors)
      if (options.start.offsets[t] % unit != 0) unit = a;
  std::vector<std::int64_t> size(graph.num_tensors(), 0);
  std::int64_t total = 0, largest = 0;
  for (int t : tensors) {
    size[t] = rounded(t) / unit;
    total += size[t];
    largest = std::max(largest, size[t]);
  }
  const std::int64_t upper = start_ok ? options.start.arena_bytes / unit : total;
  const std::int64_t known = std::max(options.lower_bound, best_lower_bound(graph));
  const std::int64_t bound_units = std::max((known + unit - 1) / unit, largest);
  result.lower_bound = bound_units * unit;
  if (start_ok && upper <= bound_units) {  // the start is already optimal
    result.seconds = clock.seconds();
    return result;
  }

  const schedule::StepWindows windows = schedule::step_windows(graph);
  const auto& earliest = windows.earliest;
  const auto& latest = windows.latest;
  ilp::Model model;

  // Order: run[v][s - earliest[v]] = 1 if node v runs at step s.
  std::vector<std::vector<int>> run(n);
  for (int v = 0; v < n; ++v)
    for (int s = earliest[v]; s <= latest[v]; ++s) run[v].push_back(model.add_binary());
  // "v has run by step s" as terms.
  auto add_ran_by = [&](Terms& terms, int v, int s, double coefficient) {
    for (int k = earliest[v]; k <= std::min(s, latest[v]); ++k)
      terms.add(run[v][k - earliest[v]], coefficient);
  };
  for (int v = 0; v < n; ++v) {
    Terms once;
    add_ran_by(once, v, last, 1.0);
    model.add_row(once.columns, once.values, 1.0, 1.0);
  }
  for (int s = 0; s < n; ++s) {
    Terms one_node;
    for (int v = 0; v < n; ++v)
      if (earliest[v] <= s && s <= latest[v]) one_node.add(run[v][s - earliest[v]], 1.0);
    model.add_row(one_node.columns, one_node.values, 1.0, 1.0);
  }
  for (int v = 0; v < n; ++v)
    for (int p : windows.predecessors[v])
      for (int s = earliest[v]; s <= latest[v]; ++s) {
        if (s - 1 >= latest[p]) break;  // p has surely run by then
        Terms precedence;               // ran_by(v, s) <= ran_by(p, s - 1)
        add_ran_by(precedence, v, s, 1.0);
        add_ran_by(precedence, p, s - 1, -1.0);
        model.add_row(precedence.columns, precedence.values, -ilp::kInfinity, 0.0);
      }

  // Liveness: live[t][s - from[t]] >= 0, forced to 1 where t is live; persistent tensors are live
  // at every step (no variable).
  const int num_tensors = graph.num_tensors();
  std::vector<int> from(num_tensors, 0), to(num_tensors, last);
  std::vector<std::vector<int>> live(num_tensors);
  for (int t : tensors) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.persistent()) continue;
    const int p = tensor.producer;
    from[t] = earliest[p];
    if (!tensor.lives_to_end()) {
      to[t] = latest[p];
      for (int c : tensor.consumers) to[t] = std::max(to[t], latest[c]);
    }
    for (int s = from[t]; s <= to[t]; ++s) {
      const int column = model.add_column(ilp::ColumnType::kContinuous, 0, 1);
      live[t].push_back(column);
      auto force = [&](Terms terms) {  // terms - live <= 0
        terms.add(column, -1.0);
        model.add_row(terms.columns, terms.values, -ilp::kInfinity, 0.0);
      };
      if (tensor.lives_to_end()) {
        Terms made;
        add_ran_by(made, p, s, 1.0);
        force(made);
      } else if (tensor.consumers.empty()) {
        Terms made_now;
        if (earliest[p] <= s && s <= latest[p]) made_now.add(run[p][s - earliest[p]], 1.0);
        force(made_now);
      } else {
        for (int c : tensor.consumers) {
          Terms needed;  // made by s, and c not run before s
          add_ran_by(needed, p, s, 1.0);
          add_ran_by(needed, c, s - 1, -1.0);
          force(needed);
        }
      }
    }
  }

  // Placement: offsets, the top, and the pairs.
  const double big_m = static_cast<double>(upper);
  const int top = model.add_column(ilp::ColumnType::kContinuous, static_cast<double>(bound_units),
                                   static_cast<double>(upper), 1.0);
  std::vector<int> offset(num_tensors, -1);
  for (int t : tensors) {
    offset[t] = model.add_column(ilp::ColumnType::kInteger, 0,
                                 static_cast<double>(std::max<std::int64_t>(0, upper - size[t])));
    const int columns[] = {top, offset[t]};
    const double values[] = {1.0, -1.0};
    model.add_row(columns, values, static_cast<double>(size[t]), ilp::kInfinity);
  }
  // Node x runs before node y in every order: x is an ancestor of y other than y.
  const std::vector<NodeSet> ancestors = ancestor_sets(graph);
  auto runs_before = [&](int x, int y) { return x != y && ancestors[y].contains(x); };
  auto ends_before = [&](int x, int y) {  // x's last step precedes y's first in every order
    const Tensor& tx = graph.tensors[x];
    const Tensor& ty = graph.tensors[y];
    if (tx.lives_to_end() || ty.persistent()) return false;
    if (tx.consumers.empty()) return runs_before(tx.producer, ty.producer);
    return std::all_of(tx.consumers.begin(), tx.consumers.end(),
                       [&](int c) { return runs_before(c, ty.producer); });
  };
  struct Pair {
    int first, second, below, shared;  // below: first under second; shared: -1 if always
  };
  std::vector<Pair> pairs;
  for (std::size_t i = 0; i < tensors.size(); ++i)
    for (std::size_t j = i + 1; j < tensors.size(); ++j) {
      const int x = tensors[i], y = tensors[j];
      const int lo = std::max(from[x], from[y]), hi = std::min(to[x], to[y]);
      if (lo > hi || ends_before(x, y) || ends_before(y, x)) continue;
      Pair pair{x, y, model.add_binary(), -1};
      const bool always = graph.tensors[x].persistent() && graph.tensors[y].persistent();
      if (!always) {
        pair.shared = model.add_column(ilp::ColumnType::kContinuous, 0, 1);
        for (int s = lo; s <= hi; ++s) {
          Terms both;  // live(x, s) + live(y, s) - 1 <= shared
          double constant = 0;
          for (int t : {x, y}) {
            if (graph.tensors[t].persistent())
              constant += 1;
            else
              both.add(live[t][s - from[t]], 1.0);
          }
          both.add(pair.shared, -1.0);
          model.add_row(both.columns, both.values, -ilp::kInfinity, 1.0 - constant);
        }
      }
      // below = 1: x under y; the rows are slack by big_m when the pair shares no step.
      const double relax = always ? 0.0 : big_m;
      Terms under, over;
      under.add(offset[x], 1.0);
      under.add(offset[y], -1.0);
      under.add(pair.below, big_m);
      over.add(offset[y], 1.0);
      over.add(offset[x], -1.0);
      over.add(pair.below, -big_m);
      if (!always) {
        under.add(pair.shared, big_m);
        over.add(pair.shared, big_m);
      }
      model.add_row(under.columns, under.values, -ilp::kInfinity,
                    big_m + relax - static_cast<double>(size[x]));
      model.add_row(over.columns, over.values, -ilp::kInfinity,
                    relax - static_cast<double>(size[y]));
      pairs.push_back(pair);
    }
  result.pairs = static_cast<std::int64_t>(pairs.size());
  result.columns = model.num_columns();
  result.rows = model.num_rows();

  ilp::SolveOptions solve;
  solve.deadline = options.deadline;
  solve.threads = options.threads;
  solve.absolute_gap = 0.999;  // the top is a whole number of units at any integer solution
  if (options.on_progress)
    solve.on_progress = [&](const ilp::SolveProgress& p) {
      const auto bytes = [&](double units) {
        return static_cast<std::int64_t>(std::ceil(units - 1e-6)) * unit;
      };
      options.on_progress(p.has_incumbent ? bytes(p.incumbent) : -1,
                          std::isfinite(p.bound) ? bytes(p.bound) : -1);
    };
  if (start_ok) {
    const Plan& plan = options.start;
    solve.start.assign(model.num_columns(), 0.0);
    std::vector<int> step(n);
    for (int s = 0; s < n; ++s) step[plan.order[s]] = s;
    for (int v = 0; v < n; ++v) solve.start[run[v][step[v] - earliest[v]]] = 1.0;
    const auto lives = lifetimes(graph, plan.order);
    for (int t : tensors)
      for (std::size_t k = 0; k < live[t].size(); ++k) {
        const int s = from[t] + static_cast<int>(k);
        solve.start[live[t][k]] = lives[t].start <= s && s <= lives[t].end ? 1.0 : 0.0;
      }
    solve.start[top] = static_cast<double>(upper);
    for (int t : tensors) solve.start[offset[t]] = static_cast<double>(plan.offsets[t] / unit);
    for (const Pair& p : pairs) {
      solve.start[p.below] = plan.offsets[p.first] < plan.offsets[p.second] ? 1.0 : 0.0;
      if (p.shared >= 0)
        solve.start[p.shared] = lives[p.first].start <= lives[p.second].end &&
                                        lives[p.second].start <= lives[p.first].end
                                    ? 1.0
                                    : 0.0;
    }
  }
  const ilp::SolveResult solved = ilp::solve_with_cbc(model, solve);
  result.status = solved.status;
  if (std::isfinite(solved.bound)) {
    const double proven = std::ceil(solved.bound - 1e-6 - 1e-9 * std::abs(solved.bound));
    result.lower_bound = std::max(result.lower_bound, static_cast<std::int64_t>(proven) * unit);
  }

  if (!solved.solution.empty()) {
    Plan plan;
    plan.graph = graph.name;
    plan.alignment = a;
    std::vector<int> at_step(n, -1);
    bool complete = true;
    for (int v = 0; v < n && complete; ++v)
      for (int s = earliest[v]; s <= latest[v]; ++s)
        if (solved.solution[run[v][s - earliest[v]]] > 0.5) {
          if (at_step[s] >= 0) complete = false;
          at_step[s] = v;
        }
    complete = complete && std::find(at_step.begin(), at_step.end(), -1) == at_step.end();
    if (complete) {
      plan.order = at_step;
      plan.offsets.assign(num_tensors, -1);
      for (int t : tensors) {
        plan.offsets[t] = std::llround(solved.solution[offset[t]]) * unit;
        plan.arena_bytes = std::max(plan.arena_bytes, plan.offsets[t] + size[t] * unit);
      }
      // Kept only if it passes the checker (a guard against the solver's tolerances) and beats
      // the start.
      if (check_plan(graph, plan, a).valid &&
          (!start_ok || plan.arena_bytes < result.arena_bytes)) {
        result.arena_bytes = plan.arena_bytes;
        result.plan = std::move(plan);
        result.from_solver = true;
      }
    }
  }
  if (!result.plan.order.empty())
    result.lower_bound = std::min(result.lower_bound, result.arena_bytes);
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::mem
