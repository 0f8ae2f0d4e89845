// `ctbench compare BASE NEW`: regression gate between two saved reports. Exit 0 no regression,
// 1 regression, 2 when an input is unusable (unreadable, broken, another schema major version,
// nothing in common) so that a broken input never reads as "no regression".
#include <fmt/format.h>
#include <regex>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "reports/compare.hpp"

namespace ctb::cli {
namespace {

struct CompareArgs {
    std::string before, after;
    double threshold_percent = 5;
    double alpha = 0.05;
    std::string format = "text";
    std::string correction = "holm";
    bool normalize = false;
    std::string gate;
};

int compare(const CompareArgs& a) {
    if (!(a.threshold_percent >= 0)) return usage_error(plain_error("--threshold", "", "must be >= 0 (percent)"));
    if (!(a.alpha > 0 && a.alpha < 1)) return usage_error(plain_error("--alpha", "", "must be in (0, 1)"));
    if (a.format != "text" && a.format != "markdown" && a.format != "json")
        return usage_error(plain_error("--format", "'" + a.format + "'", "unknown format; valid formats: text, markdown, json"));
    if (a.correction != "holm" && a.correction != "none")
        return usage_error(plain_error("--correction", "'" + a.correction + "'", "unknown correction; valid: holm, none"));
    try {
        std::regex check(a.gate);
    } catch (const std::regex_error& e) {
        return usage_error(plain_error("--gate", "'" + a.gate + "'", std::string("not a regular expression: ") + e.what()));
    }
    auto before = report::load_report(a.before);
    if (!before) return usage_error(before.error());
    auto after = report::load_report(a.after);
    if (!after) return usage_error(after.error());
    report::CompareOptions options;
    options.alpha = a.alpha;
    options.threshold = a.threshold_percent / 100;
    options.correction = a.correction == "none" ? report::Correction::none : report::Correction::holm;
    options.normalize = a.normalize;
    options.gate = a.gate;
    auto c = report::compare(*before, *after, options);
    if (!c) {
        Error e = c.error();
        e.detail += fmt::format(" ({} vs {})", a.before, a.after);
        return usage_error(e);
    }
    if (a.format == "json") fmt::print("{}\n", report::comparison_json(*c).dump(2));
    else if (a.format == "markdown") fmt::print("{}", report::render_comparison_markdown(*c));
    else fmt::print("{}", report::render_comparison_text(*c));
    return c->has_regression() ? kExitFailed : kExitOk;
}

}  // namespace

void register_compare(CLI::App& app, int& exit_code) {
    auto args = std::make_shared<CompareArgs>();
    auto* cmd = app.add_subcommand("compare", "Compare two JSON reports; exit 1 on a regression, 2 on unusable input");
    cmd->add_option("baseline", args->before, "The reference report")->required();
    cmd->add_option("candidate", args->after, "The report to judge")->required();
    cmd->add_option("--threshold", args->threshold_percent,
                    "Change of a benchmark's median (percent, in the worse direction) that counts as a regression")
        ->capture_default_str();
    cmd->add_option("--alpha", args->alpha, "Significance level of the Mann-Whitney U test")->capture_default_str();
    cmd->add_option("--format", args->format, "text, markdown or json")->capture_default_str();
    cmd->add_option("--correction", args->correction,
                    "How the series' U tests share alpha: holm (family-wise) or none (each at alpha)")
        ->capture_default_str();
    cmd->add_flag("--normalize", args->normalize,
                  "Gate each series on its ratio to its baseline series of the same run (host drift cancels); "
                  "the baselines are then not gated");
    cmd->add_option("--gate", args->gate,
                    "Gate only the series whose name this regular expression finds (e.g. '/ctbench-' for a "
                    "runtime change); the others are shown, not gated");
    cmd->callback([args, &exit_code] { exit_code = compare(*args); });
}

}  // namespace ctb::cli
