// The stage graph of a Halide pipeline: its stages in a fixed order and the edges between them.
// A stage is one definition of one Func (the pure definition, then each update), as in Adams2019.
// Adams2019's featurization has one record per stage but carries no edges; they are recovered here
// from the pipeline's call graph:
//   - producer -> consumer: the consumer stage calls the producer Func; the edge starts at the
//     producer's last stage (its final value);
//   - update chain: stage k-1 -> stage k of the same Func.
#pragma once

#include <Halide.h>

#include <map>
#include <string>
#include <vector>

namespace tensorplan::perf {

struct StageInfo {
  std::string name;     // "f3_conv2d" or "f3_conv2d.update(0)", as Adams2019 names stages
  std::string func;     // the Func's name
  int definition = 0;   // 0 for the pure definition, k for update k-1
  std::string op;       // the generator's op kind that made the Func ("" if unknown)
  std::string type;     // the value type, e.g. "float32", "uint8"
  int dimensions = 0;   // the Func's dimensions
  int func_calls = 0;   // calls to other Funcs, input wrappers included (after simplify +
                        // CSE, as Adams2019 counts them)
  int self_calls = 0;   // calls to the Func itself (updates that read their own value)
  int image_calls = 0;  // loads from input images
  std::vector<std::string> inputs_read;  // input images this stage loads from
};

struct StageEdge {
  int producer = 0;           // stage index
  int consumer = 0;           // stage index
  bool update_chain = false;  // true: consecutive definitions of one Func
  int calls = 0;              // call sites of the producer in the consumer (0 for update chains)
};

struct StageGraph {
  std::vector<StageInfo> stages;  // producers before consumers; pure definition before updates
  std::vector<StageEdge> edges;   // sorted by (consumer, producer)
  int output_stage = -1;          // the last stage of the output Func
};

// An ImageParam's internal wrapper Func is not a stage (Adams2019 treats it as an input): reads
// through it appear in StageInfo::inputs_read. Orders the stages as Halide's topological order
// does, which fixes the order of Adams2019's featurization records (they come out in exactly the
// reverse of this order).
StageGraph build_stage_graph(const Halide::Func& output,
                             const std::map<std::string, std::string>& func_op = {});

// "float32", "int16", "uint8", "bool".
std::string type_name(const Halide::Type& type);

}  // namespace tensorplan::perf
