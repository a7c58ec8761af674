// Registry of subcommands: each cmd_*.cpp exposes one register_* function listed in
// commands.cpp; it adds its CLI11 subcommand and the function that runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace qmix::cli {

class CommandTable {
 public:
  // `run` returns the process exit code.
  void add(CLI::App* sub, std::function<int()> run) { entries_.push_back({sub, std::move(run)}); }
  int run_selected(const CLI::App& app) const;

 private:
  struct Entry {
    CLI::App* sub;
    std::function<int()> run;
  };
  std::vector<Entry> entries_;
};

void register_commands(CLI::App& app, CommandTable& table);

// The command line with the default subcommand filled in where a command has one (e.g.
// `qmix imatrix MODEL -f TEXT` is `qmix imatrix collect MODEL -f TEXT`, as llama-imatrix is
// called). Only when the word after the command is not one of its subcommands or a help flag.
std::vector<std::string> with_default_subcommands(const CLI::App& app,
                                                  std::vector<std::string> args);

// Prints "qmix: error: <message>" on stderr and returns exit code 1.
int report_error(const Error& error);

// A CLI11 parse outcome: --help/--version print as usual and return 0; usage errors (unknown
// option, missing argument, bad value) print one "qmix: error: ..." line and return 1.
int report_parse_error(const CLI::App& app, const CLI::ParseError& error);

}  // namespace qmix::cli
