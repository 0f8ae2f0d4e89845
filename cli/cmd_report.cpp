// `ctbench report`: render a saved JSON report in other formats (the report is checked first).
// With two reports (baseline, candidate) and --format html it renders the comparison view.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/options.hpp"
#include "common/files.hpp"

namespace ctb::cli {
namespace {

struct ReportArgs {
    std::vector<std::string> inputs;
    std::vector<std::string> formats;
    std::string output;
};

int compare_page(const ReportArgs& a, const std::vector<const report::Format*>& formats) {
    if (formats.size() != 1 || formats.front()->name != "html")
        return usage_error(plain_error("--format", "", "two reports render only as html (the comparison view); "
                                                       "use `ctbench compare` for text, markdown or json"));
    auto before = report::load_report(a.inputs[0]);
    if (!before) return usage_error(before.error());
    auto after = report::load_report(a.inputs[1]);
    if (!after) return usage_error(after.error());
    std::string page = report::render_html_comparison(*before, *after);
    if (a.output.empty()) fmt::print("{}", page);
    else if (auto s = write_file(a.output, page); !s) return usage_error(s.error());
    return kExitOk;
}

int convert(const ReportArgs& a) {
    auto formats = parse_formats(a.formats.empty() ? std::vector<std::string>{"text"} : a.formats);
    if (!formats) return usage_error(formats.error());
    if (a.inputs.size() == 2) return compare_page(a, *formats);
    auto r = report::load_report(a.inputs[0]);
    if (!r) return usage_error(r.error());
    if (auto s = write_outputs(*r, *formats, a.output); !s) return usage_error(s.error());
    return kExitOk;
}

}  // namespace

void register_report(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<ReportArgs>();
    auto* cmd = app.add_subcommand("report", "Render a saved JSON report in other formats (two reports: html comparison)");
    cmd->add_option("input", args->inputs, "A report written by `ctbench run --format json`; two for a comparison page")
        ->required()
        ->expected(1, 2);
    cmd->add_option("--format", args->formats, "Output format(s): " + join(report::format_names()) + " (default text)");
    cmd->add_option("--output", args->output, "A file for one format, a directory for several; default stdout");
    cmd->callback([args, &exit_code] { exit_code = convert(*args); });
}

}  // namespace ctb::cli
