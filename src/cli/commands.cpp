#include "cli/commands.h"

#include <cstdio>

namespace qmix::cli {

// One line per subcommand; each is defined in its cmd_*.cpp.
void register_raw(CLI::App& app, CommandTable& table);

void register_commands(CLI::App& app, CommandTable& table) { register_raw(app, table); }

int CommandTable::run_selected(const CLI::App& app) const {
  for (const auto& e : entries_)
    if (e.sub->parsed()) return e.run();
  (void)app;
  return 1;
}

int report_error(const Error& error) {
  std::fprintf(stderr, "qmix: error: %s\n", error.message.c_str());
  return 1;
}

}  // namespace qmix::cli
