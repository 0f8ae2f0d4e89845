// `ctbench report`: render a saved JSON report in other formats (the report is checked first).
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/options.hpp"

namespace ctb::cli {
namespace {

struct ReportArgs {
    std::string input;
    std::vector<std::string> formats;
    std::string output;
};

int convert(const ReportArgs& a) {
    auto formats = parse_formats(a.formats.empty() ? std::vector<std::string>{"text"} : a.formats);
    if (!formats) return usage_error(formats.error());
    auto r = report::load_report(a.input);
    if (!r) return usage_error(r.error());
    if (auto s = write_outputs(*r, *formats, a.output); !s) return usage_error(s.error());
    return kExitOk;
}

}  // namespace

void register_report(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<ReportArgs>();
    auto* cmd = app.add_subcommand("report", "Render a saved JSON report in other formats");
    cmd->add_option("input", args->input, "A report written by `ctbench run --format json`")->required();
    cmd->add_option("--format", args->formats, "Output format(s): " + join(report::format_names()) + " (default text)");
    cmd->add_option("--output", args->output, "A file for one format, a directory for several; default stdout");
    cmd->callback([args, &exit_code] { exit_code = convert(*args); });
}

}  // namespace ctb::cli
