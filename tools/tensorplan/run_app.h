// Parses and runs a CLI11 app the way every tensorplan program does: errors become one line
// "tensorplan: error: ..." on stderr and exit code 2; --help and --version exit 0. Messages may
// quote input, so they are printed through one_line(): escaped, bounded, never more than one line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "tensorplan/common/error.h"
#include "tensorplan/common/text.h"

namespace tensorplan::cli {

inline int run_app(CLI::App& app, int argc, char** argv) {
  if (argc == 1) {  // no command at all: show what there is
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tensorplan: error: %s (see --help)\n", one_line(e.what()).c_str());
    return 2;
  } catch (const tensorplan::Error& e) {
    std::fprintf(stderr, "tensorplan: error: %s\n", one_line(e.what()).c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tensorplan: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tensorplan: error: %s\n", one_line(e.what()).c_str());
    return 2;
  }
  return 0;
}

}  // namespace tensorplan::cli
