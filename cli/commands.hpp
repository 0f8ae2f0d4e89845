// One registration function per subcommand (cli/cmd_<name>.cpp). Each sets `exit_code` when it
// runs; main() returns it.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "reports/model.hpp"
#include "reports/writers.hpp"

namespace ctb::cli {

void register_run(CLI::App& app, int& exit_code);
void register_list(CLI::App& app, int& exit_code);
void register_doctor(CLI::App& app, int& exit_code);
void register_report(CLI::App& app, int& exit_code);
void register_compare(CLI::App& app, int& exit_code);
void register_trace(CLI::App& app, int& exit_code);

// The command line as typed, recorded in every report.
std::vector<std::string>& command_line();

// Print an error as "ctbench: <message>" and return kExitUsage.
int usage_error(const Error& e);

// Writes each format: to stdout when output is empty; to `output` when there is one format;
// into the directory `output` (report.<ext>) when there are several.
Status write_outputs(const report::Report& r, const std::vector<const report::Format*>& formats,
                     const std::string& output);

}  // namespace ctb::cli
