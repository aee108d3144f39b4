// tensorplan mem simulate GRAPH [--plan PLAN]: live bytes, the peak and what holds it, and what
// PyTorch's caching allocator would reserve for the order.
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "numeric_options.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/progress.h"
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
  const int top = std::min<int>(args.top, static_cast<int>(sim.live_at_peak.size()));
  auto producer_of = [&](int t) -> const mem::Node* {
    const int p = graph.tensors[t].producer;
    return p >= 0 ? &graph.nodes[p] : nullptr;
  };
  const mem::Node* peak_node = order.empty() ? nullptr : &graph.nodes[order[sim.peak_step]];

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
                      {"module", p ? Json(p->module) : Json(nullptr)}});
    }
    Json out = {{"graph", graph.name},
                {"nodes", graph.num_nodes()},
                {"tensors", graph.num_tensors()},
                {"max_live", sim.max_live},
                {"peak_step", sim.peak_step},
                {"peak_node", peak_node ? Json(peak_node->name) : Json(nullptr)},
                {"persistent_bytes", graph.persistent_bytes()},
                {"reserved", pytorch.peak_reserved},
                {"allocated", pytorch.peak_allocated},
                {"live_at_peak", live}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%s: %d operators, %d tensors, %s order\n", graph.name.c_str(), graph.num_nodes(),
              graph.num_tensors(), args.plan.empty() ? "reference" : "planned");
  std::printf("  max-live                  %14s at step %d%s\n", format_bytes(sim.max_live).c_str(),
              sim.peak_step,
              peak_node ? fmt::format(" ({}{})", peak_node->name,
                                      peak_node->module.empty() ? "" : " in " + peak_node->module)
                              .c_str()
                        : "");
  std::printf("  persistent tensors        %14s\n", format_bytes(graph.persistent_bytes()).c_str());
  std::printf("  PyTorch reserved (peak)   %14s\n", format_bytes(pytorch.peak_reserved).c_str());
  std::printf("  PyTorch allocated (peak)  %14s\n", format_bytes(pytorch.peak_allocated).c_str());
  if (top > 0) {
    std::printf("\n  largest of the %zu tensors live at the peak:\n", sim.live_at_peak.size());
    std::printf("  %12s  %-15s  %-28s  %s\n", "size", "kind", "tensor", "made by (module)");
    for (int i = 0; i < top; ++i) {
      const int t = sim.live_at_peak[i];
      const mem::Node* p = producer_of(t);
      std::string made_by = p ? p->name : "(before the step)";
      if (p && !p->module.empty()) made_by += fmt::format(" ({})", p->module);
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
      "plan's order with --plan.");
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
