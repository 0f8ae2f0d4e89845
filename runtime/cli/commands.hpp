// Subcommands of ctbench-runtime that live in files of their own (cmd_*.cpp), each with its
// register_<name>. `root` is the --root option's value; `rc` receives the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace ctb::runtime_cli {

void register_features(CLI::App& app, int& rc);
void register_update(CLI::App& app, const std::string& root, int& rc);

}  // namespace ctb::runtime_cli
