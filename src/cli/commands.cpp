#include "cli/commands.h"

#include <cstdio>
#include <string>

namespace qmix::cli {

// One line per subcommand; each is defined in its cmd_*.cpp.
void register_raw(CLI::App& app, CommandTable& table);
void register_synth(CLI::App& app, CommandTable& table);
void register_inspect(CLI::App& app, CommandTable& table);
void register_quantize(CLI::App& app, CommandTable& table);
void register_tokenize(CLI::App& app, CommandTable& table);
void register_imatrix(CLI::App& app, CommandTable& table);
void register_convert(CLI::App& app, CommandTable& table);
void register_eval(CLI::App& app, CommandTable& table);
void register_recipe(CLI::App& app, CommandTable& table);
void register_plan(CLI::App& app, CommandTable& table);
void register_fit(CLI::App& app, CommandTable& table);
void register_bench(CLI::App& app, CommandTable& table);
void register_report(CLI::App& app, CommandTable& table);
void register_workflow(CLI::App& app, CommandTable& table);

void register_commands(CLI::App& app, CommandTable& table) {
  using RegisterFn = void (*)(CLI::App&, CommandTable&);
  // One per line (not bin-packed) so that adding a command touches one line.
  // clang-format off
  static constexpr RegisterFn kCommands[] = {
      register_raw,
      register_synth,
      register_inspect,
      register_quantize,
      register_tokenize,
      register_imatrix,
      register_convert,
      register_eval,
      register_recipe,
      register_plan,
      register_fit,
      register_bench,
      register_report,
      register_workflow,
  };
  // clang-format on
  for (RegisterFn reg : kCommands) reg(app, table);
}

namespace {

const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  auto found = app.get_subcommands([&](const CLI::App* sub) { return sub->check_name(name); });
  return found.empty() ? nullptr : found.front();
}

}  // namespace

std::vector<std::string> with_default_subcommands(const CLI::App& app,
                                                  std::vector<std::string> args) {
  struct DefaultSubcommand {
    const char* command;
    const char* subcommand;
  };
  static constexpr DefaultSubcommand kDefaults[] = {{"imatrix", "collect"}};
  if (args.size() < 3) return args;
  for (const auto& d : kDefaults) {
    if (args[1] != d.command) continue;
    const CLI::App* command = find_subcommand(app, d.command);
    const std::string& next = args[2];
    if (command == nullptr || next == "-h" || next == "--help") return args;
    if (find_subcommand(*command, next) != nullptr) return args;
    args.insert(args.begin() + 2, d.subcommand);
  }
  return args;
}

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

int report_parse_error(const CLI::App& app, const CLI::ParseError& error) {
  // CLI11 signals --help and --version as "errors" with exit code 0; let it print those.
  if (error.get_exit_code() == 0) return app.exit(error);
  std::string message = error.what();
  // Keep the promise of one line even if a CLI11 message spans several.
  for (char& c : message)
    if (c == '\n') c = ' ';
  while (!message.empty() && message.back() == ' ') message.pop_back();
  std::fprintf(stderr, "qmix: error: %s (see --help)\n", message.c_str());
  return 1;
}

}  // namespace qmix::cli
