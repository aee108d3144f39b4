// tensorplan mem simulate GRAPH [--plan PLAN]: live bytes, the peak and what holds it, and what
// PyTorch's caching allocator would reserve for the order.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "numeric_options.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
#include "tensorplan/mem/attribution.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/plan.h"
#include "tensorplan/mem/pytorch_allocator.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::cli {

namespace {

struct SimulateArgs {
  std::string graph;
  std::string plan;
  int top = 10;
  bool json = false;
};

void run_simulate(const SimulateArgs& args) {
  const mem::Graph graph = mem::read_graph(args.graph);
  std::vector<int> order = graph.order;
  if (!args.plan.empty()) {
    const mem::Plan plan = mem::read_plan(args.plan, graph);
    std::string why;
    if (!mem::is_topological_order(graph, plan.order, &why))
      throw Error(
          fmt::format("{}: the plan's order is not valid for {}: {}", args.plan, args.graph, why));
    order = plan.order;
  }
  const mem::Simulation sim = mem::simulate(graph, order);
  const mem::AllocatorStats pytorch = mem::replay_pytorch_allocator(graph, order);
  const mem::Attribution who(graph);
  const mem::Totals totals = mem::totals_of(graph, who, sim.live_at_peak);
  const int top = std::min<int>(args.top, static_cast<int>(sim.live_at_peak.size()));
  auto producer_of = [&](int t) -> const mem::Node* {
    const int p = graph.tensors[t].producer;
    return p >= 0 ? &graph.nodes[p] : nullptr;
  };
  // The operator running at the peak, attributed to its true module (a weight-gradient matmul to
  // its parameter's module, not to the module whose activation it reads).
  const int peak_node = order.empty() ? -1 : order[sim.peak_step];
  std::vector<std::pair<std::string, std::int64_t>> modules(totals.by_module.begin(),
                                                            totals.by_module.end());
  std::stable_sort(modules.begin(), modules.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });

  if (args.json) {
    Json live = Json::array();
    for (int i = 0; i < top; ++i) {
      const int t = sim.live_at_peak[i];
      const mem::Node* p = producer_of(t);
      live.push_back({{"id", graph.tensors[t].id},
                      {"name", graph.tensors[t].name},
                      {"size", graph.tensors[t].size},
                      {"kind", std::string(mem::to_string(graph.tensors[t].kind))},
                      {"producer", p ? Json(p->name) : Json(nullptr)},
                      {"module", who.tensor_module(t)}});
    }
    Json by_kind = Json::object();
    for (int k = 0; k < mem::kNumTensorKinds; ++k)
      by_kind[std::string(mem::to_string(static_cast<mem::TensorKind>(k)))] = totals.by_kind[k];
    Json by_module = Json::array();
    for (const auto& [module, bytes] : modules)
      by_module.push_back({{"module", module}, {"bytes", bytes}});
    Json peak_operator = nullptr;
    if (peak_node >= 0) {
      const int parameter = who.gradient_parameter(peak_node);
      peak_operator = {
          {"id", graph.nodes[peak_node].id},
          {"name", graph.nodes[peak_node].name},
          {"op", graph.nodes[peak_node].op},
          {"module", who.node_module(peak_node)},
          {"gradient_of", parameter >= 0 ? Json(graph.tensors[parameter].name) : Json(nullptr)}};
    }
    Json out = {{"graph", graph.name},
                {"nodes", graph.num_nodes()},
                {"tensors", graph.num_tensors()},
                {"max_live", sim.max_live},
                {"peak_step", sim.peak_step},
                {"peak_node", peak_node >= 0 ? Json(graph.nodes[peak_node].name) : Json(nullptr)},
                {"peak_operator", peak_operator},
                {"persistent_bytes", graph.persistent_bytes()},
                {"reserved", pytorch.peak_reserved},
                {"allocated", pytorch.peak_allocated},
                {"live_bytes", sim.live_bytes},
                {"peak_by_kind", by_kind},
                {"peak_by_module", by_module},
                {"live_at_peak_count", sim.live_at_peak.size()},
                {"live_at_peak", live}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%s: %d operators, %d tensors, %s order\n", graph.name.c_str(), graph.num_nodes(),
              graph.num_tensors(), args.plan.empty() ? "reference" : "planned");
  std::printf("  max-live                  %14s at step %d%s\n", format_bytes(sim.max_live).c_str(),
              sim.peak_step,
              peak_node >= 0 ? fmt::format(" ({})", who.describe_node(peak_node)).c_str() : "");
  std::printf("  persistent tensors        %14s\n", format_bytes(graph.persistent_bytes()).c_str());
  std::printf("  PyTorch reserved (peak)   %14s\n", format_bytes(pytorch.peak_reserved).c_str());
  std::printf("  PyTorch allocated (peak)  %14s\n", format_bytes(pytorch.peak_allocated).c_str());
  std::printf("\n  live at the peak, by kind:\n");
  for (int k = 0; k < mem::kNumTensorKinds; ++k)
    if (totals.by_kind[k] > 0)
      std::printf("    %-22s  %14s\n",
                  std::string(mem::to_string(static_cast<mem::TensorKind>(k))).c_str(),
                  format_bytes(totals.by_kind[k]).c_str());
  std::printf("  live at the peak, by top-level module:\n");
  const int modules_shown = std::min<int>(std::max(args.top, 1), static_cast<int>(modules.size()));
  std::int64_t rest = 0;
  for (int i = modules_shown; i < static_cast<int>(modules.size()); ++i) rest += modules[i].second;
  for (int i = 0; i < modules_shown; ++i)
    std::printf("    %-22s  %14s\n", modules[i].first.empty() ? "(none)" : modules[i].first.c_str(),
                format_bytes(modules[i].second).c_str());
  if (rest > 0)
    std::printf("    %-22s  %14s\n", fmt::format("{} more", modules.size() - modules_shown).c_str(),
                format_bytes(rest).c_str());
  if (top > 0) {
    std::printf("\n  largest of the %zu tensors live at the peak:\n", sim.live_at_peak.size());
    std::printf("  %12s  %-15s  %-28s  %s\n", "size", "kind", "tensor", "module (made by)");
    for (int i = 0; i < top; ++i) {
      const int t = sim.live_at_peak[i];
      const mem::Node* p = producer_of(t);
      std::string module = who.tensor_module(t);
      std::string made_by = module.empty() ? std::string("-") : module;
      made_by += p ? fmt::format(" ({})", p->name) : std::string(" (before the step)");
      std::printf("  %12s  %-15s  %-28s  %s\n", format_bytes(graph.tensors[t].size).c_str(),
                  std::string(mem::to_string(graph.tensors[t].kind)).c_str(),
                  graph.tensors[t].name.c_str(), made_by.c_str());
    }
  }
}

}  // namespace

void add_mem_simulate(CLI::App& mem) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* cmd = mem.add_subcommand("simulate", "Where a training step's memory goes");
  cmd->footer(
      "\nLive bytes at every step, the peak and the tensors (and modules) that hold it, and the\n"
      "peak PyTorch's caching allocator would reserve. Uses the graph's reference order, or a\n"
      "plan's order with --plan. The operator at the peak is named with its module; an operator\n"
      "that makes a parameter's gradient belongs to that parameter's module.\n"
      "--json: max_live, peak_step, peak_operator {id, name, op, module, gradient_of},\n"
      "live_bytes (bytes live at every step), peak_by_kind {kind: bytes}, peak_by_module\n"
      "[{module, bytes}] (top-level modules, largest first), reserved, allocated, and the --top\n"
      "largest tensors live at the peak (live_at_peak, of live_at_peak_count; each with its\n"
      "module: a parameter's for weights, their state and gradients, else its maker's; \"\" if "
      "none).\n"
      "\nExample: tensorplan mem simulate models/vit_b_16-b1-sgd.json.gz --top 5");
  cmd->add_option("GRAPH", args->graph, "training graph (tensorplan.graph JSON, .json or .json.gz)")
      ->required();
  cmd->add_option("--plan", args->plan,
                  "simulate this plan's order instead of the reference order");
  cmd->add_option("--top", args->top, "how many of the largest tensors live at the peak to list")
      ->default_val(10)
      ->check(integer_in(0, kMaxInt));
  cmd->add_flag("--json", args->json, "print one JSON object on stdout");
  cmd->callback([args] { run_simulate(*args); });
}

}  // namespace tensorplan::cli
