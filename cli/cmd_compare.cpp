// `ctbench compare BASE NEW`: regression gate between two saved reports (exit 1 on regression).
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "reports/compare.hpp"

namespace ctb::cli {
namespace {

struct CompareArgs {
    std::string before, after;
    double threshold_percent = 5;
    std::string format = "text";
};

int compare(const CompareArgs& a) {
    if (a.threshold_percent < 0) return usage_error(plain_error("--threshold", "", "must be >= 0 (percent)"));
    if (a.format != "text" && a.format != "json")
        return usage_error(plain_error("--format", "'" + a.format + "'", "unknown format; valid formats: text, json"));
    auto before = report::load_report(a.before);
    if (!before) return usage_error(before.error());
    auto after = report::load_report(a.after);
    if (!after) return usage_error(after.error());
    double threshold = a.threshold_percent / 100;
    auto c = report::compare(*before, *after, threshold);
    if (a.format == "json") fmt::print("{}\n", report::comparison_json(c, threshold).dump(2));
    else fmt::print("{}", report::render_comparison(c, threshold));
    return c.has_regression() ? kExitFailed : kExitOk;
}

}  // namespace

void register_compare(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<CompareArgs>();
    auto* cmd = app.add_subcommand("compare", "Compare two JSON reports; exit 1 on a regression");
    cmd->add_option("baseline", args->before, "The reference report")->required();
    cmd->add_option("candidate", args->after, "The report to judge")->required();
    cmd->add_option("--threshold", args->threshold_percent,
                    "Benchmark change (percent, in the worse direction) that counts as a regression")
        ->capture_default_str();
    cmd->add_option("--format", args->format, "text or json")->capture_default_str();
    cmd->callback([args, &exit_code] { exit_code = compare(*args); });
}

}  // namespace ctb::cli
