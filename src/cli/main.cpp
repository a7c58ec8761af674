// qmix: one binary, one subcommand per file (cmd_*.cpp). This is the only layer that prints
// or exits; library errors become one line on stderr and exit code 1.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"qmix: measured mixed-precision GGUF quantization"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qmix 0.1.0");
  qmix::cli::CommandTable table;
  qmix::cli::register_commands(app, table);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return qmix::cli::report_parse_error(app, e);
  }
  return table.run_selected(app);
}
