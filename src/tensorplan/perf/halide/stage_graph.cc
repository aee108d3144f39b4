#include "tensorplan/perf/halide/stage_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "tensorplan/common/error.h"

namespace tensorplan::perf {

using Halide::Expr;
using Halide::Internal::Call;
using Halide::Internal::Definition;
using Halide::Internal::Function;

std::string type_name(const Halide::Type& type) {
  if (type.is_bool()) return "bool";
  const char* base = type.is_float() ? "float" : type.is_uint() ? "uint" : "int";
  std::string name = fmt::format("{}{}", base, type.bits());
  if (type.lanes() != 1) name += fmt::format("x{}", type.lanes());
  return name;
}

namespace {

// Counts the calls in an expression, by kind; and, per callee, the call sites.
class CallCounter : public Halide::Internal::IRVisitor {
 public:
  explicit CallCounter(std::string self) : self_(std::move(self)) {}
  int func_calls = 0, self_calls = 0, image_calls = 0;
  std::map<std::string, int> callees;  // Func name -> call sites
  std::set<std::string> images;

 private:
  using Halide::Internal::IRVisitor::visit;
  void visit(const Call* op) override {
    if (op->call_type == Call::Halide) {
      if (op->name == self_) {
        self_calls++;
      } else {
        func_calls++;
        callees[op->name]++;
      }
    } else if (op->call_type == Call::Image) {
      image_calls++;
      images.insert(op->name);
    }
    Halide::Internal::IRVisitor::visit(op);
  }
  std::string self_;
};

// The expressions of a definition, as Adams2019's featurizer walks them.
std::vector<Expr> definition_exprs(const Definition& def) {
  std::vector<Expr> exprs = def.values();
  exprs.insert(exprs.end(), def.args().begin(), def.args().end());
  return exprs;
}

}  // namespace

StageGraph build_stage_graph(const Halide::Func& output,
                             const std::map<std::string, std::string>& func_op) {
  const Function out = output.function();
  const std::map<std::string, Function> env = Halide::Internal::find_transitive_calls(out);
  const std::vector<std::string> order = Halide::Internal::topological_order({out}, env);

  // An ImageParam reaches the pipeline through a trivial wrapper Func ("input0_im"). Adams2019
  // marks such a node as an input and leaves it out of the featurization; so does the graph:
  // calls to it count as reads of the input image.
  std::map<std::string, std::string> input_wrappers;  // wrapper Func -> image name
  for (const auto& [name, f] : env) {
    const Call* call = f.is_wrapper();
    if (call && call->call_type == Call::Image && f.updates().empty())
      input_wrappers[name] = call->name;
  }

  // Halide makes a Func name unique within the process by appending "$<n>" when the name was
  // used before (by an earlier pipeline). The generator's names are unique within a pipeline,
  // so the suffix is dropped: the same pipeline gets the same stage names in every process.
  const auto clean = [](const std::string& name) { return name.substr(0, name.find('$')); };

  StageGraph graph;
  std::map<std::string, int> last_stage;  // Func name in `env` -> its last stage
  std::vector<std::string> order_name;    // per stage, the Func's name in `env`
  for (const std::string& name : order) {
    if (input_wrappers.count(name)) continue;
    const Function& f = env.at(name);
    const int num_definitions = 1 + static_cast<int>(f.updates().size());
    for (int d = 0; d < num_definitions; ++d) {
      const Definition& def = d == 0 ? f.definition() : f.update(d - 1);
      StageInfo stage;
      stage.func = clean(name);
      stage.definition = d;
      stage.name = d == 0 ? stage.func : fmt::format("{}.update({})", stage.func, d - 1);
      const auto op = func_op.find(name);
      stage.op = op == func_op.end() ? "" : op->second;
      stage.type = type_name(def.values().at(0).type());
      stage.dimensions = f.dimensions();
      // Count as Adams2019 does: after simplification and CSE, which merge repeated calls.
      CallCounter canonical(name);
      for (Expr e : definition_exprs(def)) {
        Halide::Internal::common_subexpression_elimination(Halide::Internal::simplify(e))
            .accept(&canonical);
      }
      stage.func_calls = canonical.func_calls;
      stage.self_calls = canonical.self_calls;
      stage.image_calls = canonical.image_calls;
      std::set<std::string> images = canonical.images;
      for (const auto& [callee, sites] : canonical.callees) {
        const auto wrapper = input_wrappers.find(callee);
        if (wrapper != input_wrappers.end()) images.insert(wrapper->second);
      }
      stage.inputs_read.assign(images.begin(), images.end());
      graph.stages.push_back(std::move(stage));
      order_name.push_back(name);
    }
    last_stage[name] = static_cast<int>(graph.stages.size()) - 1;
  }

  // Edges: from each callee's last stage, and along each Func's update chain.
  for (int s = 0; s < static_cast<int>(graph.stages.size()); ++s) {
    const StageInfo& stage = graph.stages[s];
    const Function& f = env.at(order_name.at(s));
    const Definition& def = stage.definition == 0 ? f.definition() : f.update(stage.definition - 1);
    CallCounter raw(order_name.at(s));
    for (const Expr& e : definition_exprs(def)) e.accept(&raw);
    if (def.predicate().defined()) def.predicate().accept(&raw);
    for (const auto& [callee, sites] : raw.callees) {
      if (input_wrappers.count(callee)) continue;
      const auto producer = last_stage.find(callee);
      if (producer == last_stage.end()) fail("stage {} calls unknown Func {}", stage.name, callee);
      graph.edges.push_back(StageEdge{producer->second, s, false, sites});
    }
    if (stage.definition > 0) graph.edges.push_back(StageEdge{s - 1, s, true, 0});
  }
  std::sort(graph.edges.begin(), graph.edges.end(), [](const StageEdge& a, const StageEdge& b) {
    return std::pair(a.consumer, a.producer) < std::pair(b.consumer, b.producer);
  });
  graph.output_stage = last_stage.at(out.name());
  return graph;
}

}  // namespace tensorplan::perf
