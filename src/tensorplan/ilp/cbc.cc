#include "tensorplan/ilp/cbc.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "tensorplan/common/error.h"
#include "tensorplan/common/timer.h"

// CBC's headers come in as system headers (imported target), so their warnings stay quiet.
#include <CbcEventHandler.hpp>
#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

namespace tensorplan::ilp {

std::string to_string(SolveStatus status) {
  switch (status) {
    case SolveStatus::kOptimal:
      return "optimal";
    case SolveStatus::kFeasible:
      return "feasible";
    case SolveStatus::kInfeasible:
      return "infeasible";
    case SolveStatus::kNoSolution:
      return "no solution";
  }
  return "?";
}

namespace {

// CbcMain1's callback: called at stages of the solve; nothing to do there (0: carry on).
int ignore_cbc_callback(CbcModel* /*model*/, int /*stage*/) { return 0; }

// CBC reports "no value" with huge numbers rather than infinities.
constexpr double kCbcHuge = 1e40;

double gap_of(double incumbent, double bound) {
  if (incumbent >= kCbcHuge || bound <= -kCbcHuge) return kInfinity;
  return std::max(0.0, incumbent - bound) / std::max(std::abs(incumbent), 1e-9);
}

// State shared by every clone of the event handler (CBC clones it into its working models).
struct SearchWatch {
  Stopwatch clock;
  double time_limit = kInfinity;
  std::function<void(const SolveProgress&)> on_progress;
  double last_report = -1;
  double last_incumbent = kInfinity;
};

// Reports progress and enforces the wall-clock limit even where CBC's own check comes late.
class ProgressHandler : public CbcEventHandler {
 public:
  explicit ProgressHandler(std::shared_ptr<SearchWatch> watch) : watch_(std::move(watch)) {}
  CbcEventHandler* clone() const override { return new ProgressHandler(*this); }

  CbcAction event(CbcEvent which) override {
    SearchWatch& watch = *watch_;
    const double now = watch.clock.seconds();
    if (watch.on_progress && model_ != nullptr) {
      SolveProgress progress;
      const double incumbent = model_->getMinimizationObjValue();
      progress.has_incumbent = incumbent < kCbcHuge;
      progress.incumbent = progress.has_incumbent ? incumbent : kInfinity;
      const double bound = model_->getBestPossibleObjValue();
      progress.bound = bound > -kCbcHuge ? bound : -kInfinity;
      progress.gap = gap_of(incumbent, bound);
      progress.elapsed = now;
      progress.nodes = model_->getNodeCount();
      const bool improved = progress.incumbent < watch.last_incumbent;
      if (improved || which == endSearch || now - watch.last_report >= 0.25) {
        watch.last_report = now;
        watch.last_incumbent = std::min(watch.last_incumbent, progress.incumbent);
        watch.on_progress(progress);
      }
    }
    if (now >= watch.time_limit) return stop;
    return noAction;
  }

 private:
  std::shared_ptr<SearchWatch> watch_;
};

std::string format_number(double value) { return fmt::format("{:.17g}", value); }

}  // namespace

SolveResult solve_with_cbc(const Model& model, const SolveOptions& options) {
  Stopwatch clock;
  const double time_limit = options.deadline.remaining();  // from `clock`
  SolveResult result;
  const int n = model.num_columns();
  if (!options.start.empty() && static_cast<int>(options.start.size()) != n) {
    fail("ilp: MIP start has {} values for {} columns", options.start.size(), n);
  }
  const bool start_ok = !options.start.empty() && model.is_feasible(options.start);

  if (!(time_limit > 0)) {
    // No search at all: the start is the answer, if it is one.
    if (start_ok) {
      result.status = SolveStatus::kFeasible;
      result.solution = options.start;
      result.objective = model.objective_value(options.start);
      result.start_accepted = true;
    }
    result.seconds = clock.seconds();
    return result;
  }

  // The whole matrix at once, by rows.
  std::vector<CoinBigIndex> starts(model.row_starts().begin(), model.row_starts().end());
  std::vector<int> lengths(model.num_rows());
  for (int r = 0; r < model.num_rows(); ++r) {
    lengths[r] = static_cast<int>(model.row_starts()[r + 1] - model.row_starts()[r]);
  }
  CoinPackedMatrix matrix(
      false, n, model.num_rows(), static_cast<CoinBigIndex>(model.num_nonzeros()),
      model.row_values().data(), model.row_columns().data(), starts.data(), lengths.data());
  auto finite = [](const std::vector<double>& values) {
    std::vector<double> out(values);
    for (double& v : out) {
      if (v == kInfinity) v = COIN_DBL_MAX;
      if (v == -kInfinity) v = -COIN_DBL_MAX;
    }
    return out;
  };
  const std::vector<double> col_lower = finite(model.column_lower());
  const std::vector<double> col_upper = finite(model.column_upper());
  const std::vector<double> row_lower = finite(model.row_lower());
  const std::vector<double> row_upper = finite(model.row_upper());

  OsiClpSolverInterface solver;
  solver.loadProblem(matrix, col_lower.data(), col_upper.data(), model.objective().data(),
                     row_lower.data(), row_upper.data());
  std::vector<int> integers;
  for (int c = 0; c < n; ++c) {
    if (model.column_types()[c] != ColumnType::kContinuous) integers.push_back(c);
  }
  if (!integers.empty()) solver.setInteger(integers.data(), static_cast<int>(integers.size()));
  solver.messageHandler()->setLogLevel(options.log ? 1 : 0);
  solver.setHintParam(OsiDoReducePrint, !options.log, OsiHintTry);
  if (start_ok) {
    for (int c = 0; c < n; ++c) solver.setColName(c, "c" + std::to_string(c));
  }

  CbcModel cbc(solver);
  CbcSolverUsefulData driver_data;
  driver_data.noPrinting_ = !options.log;
  driver_data.useSignalHandler_ = false;
  CbcMain0(cbc, driver_data);
  cbc.setLogLevel(options.log ? 1 : 0);
  cbc.messageHandler()->setLogLevel(options.log ? 1 : 0);
  cbc.setUseElapsedTime(true);

  // The handler asks for a clean stop (bound still valid) between CBC's limit and the LP deadline.
  auto watch = std::make_shared<SearchWatch>();
  watch->time_limit = 0.92 * time_limit;
  watch->on_progress = options.on_progress;
  ProgressHandler handler(watch);
  cbc.passInEventHandler(&handler);

  if (start_ok) {
    std::vector<std::pair<std::string, double>> start;
    start.reserve(n);
    for (int c = 0; c < n; ++c) start.emplace_back("c" + std::to_string(c), options.start[c]);
    cbc.setMIPStart(start);
    result.start_accepted = true;
  }

  // CBC checks its own limit only between its steps; a single LP (the root's, on a large model)
  // can outlast it. So every LP solve also gets an absolute wall-clock deadline a little after
  // CBC's (Clp keeps it through CBC's copies of the solver). A search that reached that deadline
  // may have cut nodes whose LP was stopped, so its bound is not trusted then.
  const double seconds_left = std::max(0.01, time_limit - clock.seconds());
  const double cbc_seconds = 0.85 * seconds_left;
  const double lp_deadline = clock.seconds() + 0.98 * seconds_left;
  OsiClpSolverInterface* working = dynamic_cast<OsiClpSolverInterface*>(cbc.solver());
  if (working != nullptr) working->getModelPtr()->setMaximumWallSeconds(0.98 * seconds_left);
  std::vector<std::string> args = {"tensorplan",
                                   "-log",
                                   options.log ? "1" : "0",
                                   "-timeMode",
                                   "elapsed",
                                   "-seconds",
                                   format_number(cbc_seconds),
                                   "-ratioGap",
                                   format_number(options.relative_gap),
                                   "-allowableGap",
                                   format_number(options.absolute_gap)};
  if (options.threads > 1) {
    args.insert(args.end(), {"-threads", std::to_string(options.threads)});
  }
  // CBC 2.10's Gomory cuts are not safe on these models: on a 10-operator graph the ordering ILP
  // "proved" 2874 and 2880 optimal where 2800 is (ScheduleIlp.GomoryCutsDoNotCutOffTheOptimum);
  // with every other cut generator on and Gomory's off, each of its 32 option settings finds 2800.
  args.insert(args.end(), {"-gomoryCuts", "off"});
  args.insert(args.end(), {"-solve", "-quit"});
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  // Debian's CBC 2.10 calls the callback unguarded on some paths (e.g. a model its preprocessing
  // solves outright), so it gets one that does nothing rather than a null pointer.
  CbcMain1(static_cast<int>(argv.size()), argv.data(), cbc, ignore_cbc_callback, driver_data);

  result.nodes = cbc.getNodeCount();
  const double* best = cbc.bestSolution();
  const bool has_solution = best != nullptr && cbc.getMinimizationObjValue() < kCbcHuge;
  if (has_solution) {
    result.solution.assign(best, best + n);
    result.objective = model.objective_value(result.solution);
  }
  const double bound = cbc.getBestPossibleObjValue();
  const bool lp_deadline_hit = clock.seconds() >= lp_deadline;
  if (bound > -kCbcHuge && bound < kCbcHuge && !lp_deadline_hit) result.bound = bound;
  if (cbc.isProvenInfeasible() && !has_solution && !lp_deadline_hit) {
    result.status = SolveStatus::kInfeasible;
    result.bound = kInfinity;
  } else if (has_solution && cbc.isProvenOptimal() && !lp_deadline_hit) {
    result.status = SolveStatus::kOptimal;
    // Proven optimal: the bound is at least the optimum less the gaps asked for.
    result.bound =
        std::max(result.bound,
                 result.objective - std::max(options.absolute_gap,
                                             options.relative_gap * std::abs(result.objective)));
  } else if (has_solution) {
    result.status = SolveStatus::kFeasible;
  } else {
    result.status = SolveStatus::kNoSolution;
  }
  if (has_solution) result.bound = std::min(result.bound, result.objective);
  result.seconds = clock.seconds();
  if (options.on_progress) {
    SolveProgress last;
    last.has_incumbent = has_solution;
    last.incumbent = result.objective;
    last.bound = result.bound;
    last.gap = has_solution ? gap_of(result.objective, result.bound) : kInfinity;
    last.elapsed = result.seconds;
    last.nodes = result.nodes;
    options.on_progress(last);
  }
  return result;
}

}  // namespace tensorplan::ilp
