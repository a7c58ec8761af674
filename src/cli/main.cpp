// qmix: one binary, one subcommand per file (cmd_*.cpp). This is the only layer that prints
// or exits; library errors become one line on stderr and exit code 1.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"qmix: measured mixed-precision GGUF quantization"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qmix 0.1.0");
  qmix::cli::CommandTable table;
  qmix::cli::register_commands(app, table);
  std::vector<std::string> args =
      qmix::cli::with_default_subcommands(app, std::vector<std::string>(argv, argv + argc));
  std::vector<char*> arg_pointers;
  for (std::string& a : args) arg_pointers.push_back(a.data());
  try {
    app.parse(static_cast<int>(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::ParseError& e) {
    return qmix::cli::report_parse_error(app, e);
  }
  return table.run_selected(app);
}
