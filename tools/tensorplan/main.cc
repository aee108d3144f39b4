// tensorplan: memory planning for training (mem) and learned performance models (perf).
// The CLI only parses and prints; all logic lives in the library.
#include <cstdio>
#include <exception>
#include <new>

#include "commands.h"
#include "tensorplan/common/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "tensorplan: plan the memory of a training step (mem) and predict the speed of tensor\n"
      "pipeline schedules (perf). Run `tensorplan mem --help` or `tensorplan perf --help`."};
  app.name("tensorplan");
  app.require_subcommand(1);
  app.set_version_flag("--version", "tensorplan 0.1.0");

  CLI::App* mem = app.add_subcommand(
      "mem", "Memory planning: order operators and place tensors to need less memory");
  mem->require_subcommand(1);
  tensorplan::cli::add_mem_plan(*mem);
  tensorplan::cli::add_mem_simulate(*mem);
  tensorplan::cli::add_mem_check(*mem);
  tensorplan::cli::add_mem_place(*mem);

  CLI::App* perf = app.add_subcommand(
      "perf", "Performance models: measure Halide schedules, train and use cost models");
  perf->require_subcommand(1);
  tensorplan::cli::add_perf_commands(*perf);

  if (argc == 1) {  // no command at all: show what there is
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tensorplan: error: %s (see --help)\n", e.what());
    return 2;
  } catch (const tensorplan::Error& e) {
    std::fprintf(stderr, "tensorplan: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tensorplan: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tensorplan: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
