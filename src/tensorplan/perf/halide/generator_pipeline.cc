#include "tensorplan/perf/halide/generator_pipeline.h"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>

#include "tensorplan/common/error.h"
#include "tensorplan/common/text.h"

namespace tensorplan::perf {

using Halide::Internal::GeneratorBase;

namespace {

// GeneratorBase::build_pipeline() (configure, generate, schedule, then the Pipeline of the
// outputs) is protected in Halide 14; its public build_module() would also lower and compile the
// pipeline. A pointer to the member formed through a derived class is a pointer to GeneratorBase's
// member, which can be called on any generator; this class is never instantiated.
struct BuildPipeline : GeneratorBase {
  static Halide::Pipeline on(GeneratorBase& generator) {
    Halide::Pipeline (GeneratorBase::*build)() = &BuildPipeline::build_pipeline;
    return (generator.*build)();
  }
};

// Halide's messages start with "Error:\n" and span lines; the CLI prints one.
std::string one_line(const std::string& message) {
  std::string text = message;
  for (const char* prefix : {"Error:", "Error"}) {
    if (text.rfind(prefix, 0) == 0) {
      text.erase(0, std::string(prefix).size());
      break;
    }
  }
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

std::optional<std::int64_t> const_int(const Halide::Expr& e) {
  if (!e.defined()) return std::nullopt;
  const Halide::Expr s = Halide::Internal::simplify(e);
  if (const std::int64_t* i = Halide::Internal::as_const_int(s)) return *i;
  if (const std::uint64_t* u = Halide::Internal::as_const_uint(s))
    return static_cast<std::int64_t>(*u);
  return std::nullopt;
}

std::optional<double> const_number(const Halide::Expr& e) {
  if (!e.defined()) return std::nullopt;
  const Halide::Expr s = Halide::Internal::simplify(e);
  if (const double* f = Halide::Internal::as_const_float(s)) return *f;
  if (const auto i = const_int(s)) return static_cast<double>(*i);
  return std::nullopt;
}

// Reads one estimate as an int that fits a buffer's min or extent.
int estimate_int(const Halide::Expr& e, const std::string& what, bool positive) {
  const auto v = const_int(e);
  if (!v) fail("{} has no constant estimate", what);
  if (*v < (positive ? 1 : -(1LL << 30)) || *v > (1LL << 30))
    fail("{} has an estimate out of range: {}", what, *v);
  return static_cast<int>(*v);
}

PipelineArgument input_argument(const Halide::Internal::InferredArgument& a,
                                const std::string& label) {
  PipelineArgument arg;
  arg.name = a.arg.name;
  arg.type = a.arg.type;
  arg.parameter = a.param;
  arg.is_buffer = a.arg.is_buffer();
  const Halide::ArgumentEstimates est = a.param.get_argument_estimates();
  if (!arg.is_buffer) {
    const auto v = const_number(est.scalar_estimate);
    if (!v)
      fail("generator {}: scalar input '{}' has no estimate (give it one with set_estimate)", label,
           arg.name);
    arg.scalar = *v;
    return arg;
  }
  const int dims = a.arg.dimensions;
  for (int d = 0; d < dims; ++d) {
    const bool known = static_cast<int>(est.buffer_estimates.size()) > d &&
                       est.buffer_estimates[d].min.defined() &&
                       est.buffer_estimates[d].extent.defined();
    if (!known)
      fail(
          "generator {}: input '{}' has no estimate for dimension {} of {} (give it one with "
          "set_estimates)",
          label, arg.name, d, dims);
    const std::string what =
        fmt::format("generator {}: input '{}' dimension {}", label, arg.name, d);
    arg.mins.push_back(estimate_int(est.buffer_estimates[d].min, what, false));
    arg.extents.push_back(estimate_int(est.buffer_estimates[d].extent, what, true));
  }
  return arg;
}

// The output's region: the Func's estimates (Output::set_estimates), or else its output buffer's
// (output_buffer().dim(d).set_estimate).
PipelineArgument output_argument(const Halide::Func& output, const std::string& label) {
  const Halide::Internal::Function f = output.function();
  PipelineArgument arg;
  arg.name = output.name().substr(0, output.name().find('$'));
  arg.type = output.output_types().at(0);
  const std::vector<std::string> vars = f.args();
  const Halide::OutputImageParam buffer = output.output_buffer();
  for (std::size_t d = 0; d < vars.size(); ++d) {
    Halide::Expr min, extent;
    for (const Halide::Internal::Bound& b : f.schedule().estimates()) {
      if (b.var == vars[d]) {
        min = b.min;
        extent = b.extent;
      }
    }
    if (!min.defined() || !extent.defined()) {
      min = buffer.parameter().min_constraint_estimate(static_cast<int>(d));
      extent = buffer.parameter().extent_constraint_estimate(static_cast<int>(d));
    }
    if (!min.defined() || !extent.defined())
      fail(
          "generator {}: output '{}' has no estimate for dimension {} of {} (give it one with "
          "set_estimates)",
          label, arg.name, d, vars.size());
    const std::string what =
        fmt::format("generator {}: output '{}' dimension {}", label, arg.name, d);
    arg.mins.push_back(estimate_int(min, what, false));
    arg.extents.push_back(estimate_int(extent, what, true));
  }
  return arg;
}

GeneratorPipeline build(const GeneratorSpec& spec, const Halide::Target& target) {
  const std::vector<std::string> names = load_generator_library(spec.library);
  const std::string label = generator_label(spec);
  if (spec.name.empty())
    fail("name a generator of {} (--generator); it registers: {}", spec.library, join(names));
  if (!std::binary_search(names.begin(), names.end(), spec.name))
    fail("{} registers no generator named '{}'; it registers: {}", spec.library, spec.name,
         join(names));
  for (const auto& [key, value] : spec.params) {
    if (key == "target" || key == "auto_schedule" || key == "machine_params")
      fail("generator {}: param '{}' is set by tensorplan, not by -p", label, key);
  }

  GeneratorPipeline out;
  out.generator = Halide::Internal::GeneratorRegistry::create(
      spec.name, Halide::GeneratorContext(target, /*auto_schedule=*/true));
  Halide::Internal::GeneratorParamsMap params;
  for (const auto& [key, value] : spec.params)
    params[key] = Halide::Internal::StringOrLoopLevel(value);
  try {
    out.generator->set_generator_param_values(params);
  } catch (const Halide::Error& e) {
    fail("generator {}: bad param: {}", label, one_line(e.what()));
  }
  out.pipeline = BuildPipeline::on(*out.generator);

  const std::vector<Halide::Func> outputs = out.pipeline.outputs();
  if (outputs.size() != 1)
    fail("generator {} has {} outputs; tensorplan tunes generators with one", label,
         outputs.size());
  out.output = outputs[0];
  if (out.output.outputs() != 1)
    fail(
        "generator {}: output '{}' is a Tuple of {} values; tensorplan tunes single-valued "
        "outputs",
        label, out.output.name(), out.output.outputs());

  std::vector<Halide::Internal::InferredArgument> args =
      Halide::Internal::infer_arguments(Halide::Internal::Stmt(), {out.output.function()});
  std::sort(args.begin(), args.end());  // buffers first, then by name, as Halide orders them
  for (const auto& a : args) {
    if (!a.param.defined() || !a.arg.is_input()) continue;  // a Buffer baked into the pipeline
    out.inputs.push_back(input_argument(a, label));
  }
  out.output_shape = output_argument(out.output, label);
  return out;
}

}  // namespace

std::string generator_label(const GeneratorSpec& spec) {
  std::string label = spec.name;
  for (const auto& [key, value] : spec.params) label += fmt::format(" -p {}={}", key, value);
  return label;
}

std::vector<std::string> load_generator_library(const std::string& path) {
  // The names a library registered, by path: dlopen runs its registrations only the first time.
  static std::mutex mutex;
  static std::map<std::string, std::vector<std::string>> loaded;
  const std::lock_guard<std::mutex> lock(mutex);
  if (path.empty()) fail("no generator library given (--generator-library)");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail("cannot load generator library {}: no such file", path);
  const std::string key = std::filesystem::canonical(path, ec).string();
  const auto it = loaded.find(key);
  if (it != loaded.end()) return it->second;

  const std::vector<std::string> before = Halide::Internal::GeneratorRegistry::enumerate();
  ::dlerror();
  // Never closed: the generators' code must outlive every generator and pipeline made from it.
  void* handle = ::dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    fail("cannot load generator library {}: {}", path, why ? why : "unknown dlopen error");
  }
  const std::vector<std::string> after = Halide::Internal::GeneratorRegistry::enumerate();
  std::vector<std::string> names;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(names));
  if (names.empty()) {
    fail("generator library {} registers no Halide generator (HALIDE_REGISTER_GENERATOR){}", path,
         after.empty() ? "" : " not already registered by another library");
  }
  loaded[key] = names;
  return names;
}

std::map<std::string, std::string> parse_generator_params(const std::vector<std::string>& args) {
  std::map<std::string, std::string> params;
  for (const std::string& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      fail("-p {}: expected key=value (a generator param)", quote_name(arg));
    const std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    if (!params.emplace(key, value).second)
      fail("-p {}={}: the generator param {} is given twice", quote_name(key), quote_name(value),
           quote_name(key));
  }
  return params;
}

GeneratorPipeline build_generator_pipeline(const GeneratorSpec& spec,
                                           const Halide::Target& target) {
  try {
    return build(spec, target);
  } catch (const Error&) {
    throw;
  } catch (const Halide::Error& e) {
    fail("generator {}: {}", generator_label(spec), one_line(e.what()));
  }
}

}  // namespace tensorplan::perf
