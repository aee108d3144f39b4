#include "tensorplan/perf/halide/aot.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/perf/halide/sampler.h"
#include "tensorplan/perf/subprocess.h"

extern char** environ;

namespace tensorplan::perf {

void compile_runtime_object(const std::string& target, const std::string& path) {
  const ChildOutcome outcome = run_in_child(
      [&](const MessageSink& send) {
        Halide::compile_standalone_runtime(path, Halide::Target(target));
        send({{"type", "done"}});
      },
      {}, 300);
  if (outcome.status != "ok") {
    fail("cannot compile the Halide runtime for {}: {} {}", target, outcome.status, outcome.detail);
  }
}

void link_shared_object(const std::vector<std::string>& objects, const std::string& output) {
  const char* compiler = std::getenv("CXX");
  std::vector<std::string> args = {compiler && *compiler ? compiler : "c++", "-shared", "-o",
                                   output};
  args.insert(args.end(), objects.begin(), objects.end());
  for (const char* a : {"-Wl,-Bsymbolic", "-lpthread", "-ldl", "-lm"}) args.emplace_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = output + ".log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("cannot run the linker {}: {}", args[0], std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string text;
  try {
    text = read_file(log);
  } catch (const Error&) {
  }
  ::unlink(log.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
    fail("linking {} failed: {}", output, text);
  }
}

ScheduleLibrary::ScheduleLibrary(const std::string& path) : path_(path) {
  handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) fail("{}: cannot load: {}", path, ::dlerror());
}

ScheduleLibrary::~ScheduleLibrary() {
  if (handle_) ::dlclose(handle_);
}

ScheduleLibrary::ArgvFunction ScheduleLibrary::function(const std::string& name) const {
  void* f = ::dlsym(handle_, (name + "_argv").c_str());
  if (!f) fail("{}: has no function {}_argv", path_, name);
  return reinterpret_cast<ArgvFunction>(f);
}

Halide::Type parse_type_name(const std::string& name) {
  if (name == "bool") return Halide::Bool();
  const auto digits = name.find_first_of("0123456789");
  if (digits == std::string::npos) fail("unknown scalar type '{}'", name);
  const std::string base = name.substr(0, digits);
  const int bits = std::stoi(name.substr(digits));
  if (base == "float") return Halide::Float(bits);
  if (base == "uint") return Halide::UInt(bits);
  if (base == "int") return Halide::Int(bits);
  fail("unknown scalar type '{}'", name);
}

PipelineBuffers::PipelineBuffers(const Json& inputs, const Json& output,
                                 std::uint64_t pipeline_seed) {
  const auto make = [](const Json& j) {
    return Halide::Buffer<>(parse_type_name(j.at("type").get<std::string>()),
                            j.at("shape").get<std::vector<int>>());
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Halide::Buffer<> b = make(inputs[i]);
    // The same data as the JIT timing (sampler.cc): input i's seed.
    fill_input_buffer(b, derive_seed(pipeline_seed, 1000 + i));
    names_.push_back(inputs[i].at("name").get<std::string>());
    inputs_.push_back(std::move(b));
  }
  output_ = make(output);
}

std::vector<void*> PipelineBuffers::argv(const std::vector<std::string>& argument_names) {
  if (argument_names.empty()) fail("a compiled schedule without arguments");
  std::vector<void*> argv;
  for (std::size_t a = 0; a + 1 < argument_names.size(); ++a) {
    const auto it = std::find(names_.begin(), names_.end(), argument_names[a]);
    if (it == names_.end())
      fail("the compiled pipeline takes '{}', not an input", argument_names[a]);
    argv.push_back(inputs_[static_cast<std::size_t>(it - names_.begin())].raw_buffer());
  }
  argv.push_back(output_.raw_buffer());
  return argv;
}

BoundArguments::BoundArguments(const Json& description) {
  if (!description.is_array() || description.empty())
    fail("a compiled schedule's arguments: expected a non-empty array");
  std::size_t scalars = 0;
  for (const Json& a : description) scalars += a.at("kind") == "scalar" ? 1 : 0;
  scalars_.reserve(scalars);
  buffers_.reserve(description.size() - scalars);
  for (const Json& a : description) {
    const std::string kind = a.at("kind").get<std::string>();
    const Halide::Type type = parse_type_name(a.at("type").get<std::string>());
    if (kind == "scalar") {
      scalars_.push_back(scalar_value(type, a.at("value").get<double>()));
      argv_.push_back(&scalars_.back());
      continue;
    }
    if (kind != "buffer" && kind != "output") fail("unknown argument kind '{}'", kind);
    std::vector<halide_dimension_t> shape;
    for (const Json& d : a.at("dims")) {
      shape.push_back({d.at(0).get<std::int32_t>(), d.at(1).get<std::int32_t>(),
                       d.at(2).get<std::int32_t>(), 0});
    }
    Halide::Buffer<> buffer(type, nullptr, static_cast<int>(shape.size()), shape.data());
    buffer.allocate();  // with the strides given
    if (kind == "buffer") fill_input_buffer(buffer, a.at("seed").get<std::uint64_t>());
    buffers_.push_back(buffer);
    argv_.push_back(buffers_.back().raw_buffer());
  }
}

}  // namespace tensorplan::perf
