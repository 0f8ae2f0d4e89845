// The three views of a comparison: a text table (terminal, CI log), Markdown (a pull-request
// comment) and JSON (dashboards, scripts).
#include <fmt/format.h>

#include "reports/compare.hpp"

namespace ctb::report {
namespace {

std::string ci_text(const BenchChange& b) {
    if (b.ratio.resamples == 0) return "-";
    return fmt::format("[{:+.1f}%, {:+.1f}%]", (b.ratio.low - 1) * 100, (b.ratio.high - 1) * 100);
}

std::string verdict_text(const BenchChange& b) {
    return b.regression() ? "REGRESSION" : to_string(b.verdict);
}

std::string summary_line(const Comparison& c) {
    int n = c.regressions();
    return fmt::format("{} (alpha {}{}, threshold {:.1f}%{})",
                       n ? fmt::format("{} regression{}", n, n == 1 ? "" : "s") : "no regression", c.options.alpha,
                       c.options.correction == Correction::holm ? " family-wise (Holm)" : "", c.options.threshold * 100,
                       c.options.normalize ? ", series gated on their ratio to an in-run baseline" : "");
}

// "+3.1%" or "+3.1% /floor": the change, and when normalised, the yardstick it is relative to.
std::string change_text(const BenchChange& b) {
    std::string s = fmt::format("{:+.1f}%", b.change * 100);
    if (!b.normalized_by.empty()) s += " /" + b.normalized_by.substr(b.normalized_by.rfind('/') + 1);
    if (b.normalized_per_round) s += " per round";
    return s;
}

std::string list_line(const char* label, const std::vector<std::string>& ids) {
    std::string out;
    for (const auto& id : ids) out += fmt::format("{:<18} {}\n", label, id);
    return out;
}

}  // namespace

std::string render_comparison_text(const Comparison& c) {
    std::string out;
    for (const auto& w : c.context_warnings) out += fmt::format("warning: {}\n", w);
    if (!c.benchmarks.empty()) {
        out += fmt::format("{:<44} {:>6} {:>12} {:>12} {:>22} {:>20} {:>8} {:>7}  {}\n", "benchmark", "unit", "baseline",
                           "candidate", "change", "CI of change", "p (adj)", "n", "verdict");
        for (const auto& b : c.benchmarks) {
            out += fmt::format("{:<44} {:>6} {:>12.1f} {:>12.1f} {:>22} {:>20} {:>8.3g} {:>7}  {}\n", b.name, b.unit,
                               b.before, b.after, change_text(b), ci_text(b), b.p_adjusted,
                               fmt::format("{}/{}", b.n_before, b.n_after), verdict_text(b));
            for (const auto& w : b.warnings) out += fmt::format("  warning: {}\n", w);
        }
    }
    for (const auto& x : c.cases)
        out += fmt::format("{:<18} {}: {} -> {}{}\n", x.regression() ? "REGRESSION" : to_string(x.kind), x.id,
                           to_string(x.before), to_string(x.after), x.reason.empty() ? "" : " (" + x.reason + ")");
    out += list_line("only in baseline", c.cases_only_before) + list_line("only in baseline", c.benches_only_before);
    out += list_line("only in candidate", c.cases_only_after) + list_line("only in candidate", c.benches_only_after);
    return out + summary_line(c) + "\n";
}

std::string render_comparison_markdown(const Comparison& c) {
    std::string out = fmt::format("## ctbench compare: {}\n\n", summary_line(c));
    for (const auto& w : c.context_warnings) out += fmt::format("> **warning:** {}\n", w);
    if (!c.context_warnings.empty()) out += "\n";
    if (!c.benchmarks.empty()) {
        out += fmt::format("| benchmark | baseline | candidate | change | {:.0f}% CI of change | p (U test, adjusted) | n | verdict |\n",
                           (1 - c.options.alpha) * 100);
        out += "|---|---:|---:|---:|---|---:|---|---|\n";
        for (const auto& b : c.benchmarks) {
            std::string verdict = b.regression() ? "**REGRESSION**" : verdict_text(b);
            for (const auto& w : b.warnings) verdict += "<br>⚠ " + w;
            out += fmt::format("| `{}` | {:.1f} {} | {:.1f} {} | {} | {} | {:.3g} | {}/{} | {} |\n", b.name,
                               b.before, b.unit, b.after, b.unit, change_text(b), ci_text(b), b.p_adjusted, b.n_before,
                               b.n_after, verdict);
        }
        out += "\n";
    }
    if (!c.cases.empty()) {
        out += "| case | baseline | candidate | change | reason |\n|---|---|---|---|---|\n";
        for (const auto& x : c.cases)
            out += fmt::format("| `{}` | {} | {} | {}{}{} | {} |\n", x.id, to_string(x.before), to_string(x.after),
                               x.regression() ? "**" : "", to_string(x.kind), x.regression() ? "**" : "", x.reason);
        out += "\n";
    }
    auto ids = [](const std::vector<std::string>& v) {
        std::string s;
        for (const auto& i : v) s += (s.empty() ? "`" : ", `") + i + "`";
        return s;
    };
    if (!c.cases_only_before.empty() || !c.benches_only_before.empty())
        out += "Only in the baseline: " + ids(c.cases_only_before) + " " + ids(c.benches_only_before) + "\n\n";
    if (!c.cases_only_after.empty() || !c.benches_only_after.empty())
        out += "Only in the candidate: " + ids(c.cases_only_after) + " " + ids(c.benches_only_after) + "\n\n";
    return out;
}

nlohmann::json comparison_json(const Comparison& c) {
    using json = nlohmann::json;
    json j = {{"alpha", c.options.alpha},
              {"threshold", c.options.threshold},
              {"correction", c.options.correction == Correction::holm ? "holm" : "none"},
              {"normalize", c.options.normalize},
              {"bootstrap", {{"resamples", c.options.resamples}, {"seed", c.options.seed}}},
              {"regression", c.has_regression()},
              {"regressions", c.regressions()},
              {"context_warnings", c.context_warnings},
              {"cases", json::array()},
              {"benchmarks", json::array()},
              {"only_in_baseline", {{"cases", c.cases_only_before}, {"benchmarks", c.benches_only_before}}},
              {"only_in_candidate", {{"cases", c.cases_only_after}, {"benchmarks", c.benches_only_after}}}};
    for (const auto& x : c.cases)
        j["cases"].push_back({{"id", x.id}, {"before", to_string(x.before)}, {"after", to_string(x.after)},
                              {"change", to_string(x.kind)}, {"regression", x.regression()}, {"reason", x.reason}});
    for (const auto& b : c.benchmarks)
        j["benchmarks"].push_back({{"name", b.name},
                                   {"unit", b.unit},
                                   {"higher_is_better", b.higher_is_better},
                                   {"before", b.before},
                                   {"after", b.after},
                                   {"change", b.change},
                                   {"ratio", {{"value", b.ratio.ratio}, {"low", b.ratio.low}, {"high", b.ratio.high},
                                              {"level", b.ratio.level}}},
                                   {"u_test", {{"u", b.u.u1}, {"z", b.u.z}, {"p_value", b.u.p_value},
                                               {"p_adjusted", b.p_adjusted}}},
                                   {"normalized_by", b.normalized_by.empty() ? json(nullptr) : json(b.normalized_by)},
                                   {"normalized_per_round", b.normalized_per_round},
                                   {"samples", {b.n_before, b.n_after}},
                                   {"significant", b.significant},
                                   {"beyond_threshold", b.beyond_threshold},
                                   {"verdict", to_string(b.verdict)},
                                   {"regression", b.regression()},
                                   {"warnings", b.warnings}});
    return j;
}

}  // namespace ctb::report
