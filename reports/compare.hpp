// Comparison of two reports (a baseline run and a candidate run) for regression gating.
// Conformance: a case that passed or was skipped before and now fails or errors is a regression;
// fixes, new skips and skips that went away are reported. Benchmarks: the relative change of the
// median with a bootstrap interval of the ratio of medians, and a Mann-Whitney U test on the
// samples; a bench regresses when the change is significant (p < alpha) *and* beyond the
// threshold in the worse direction for its unit.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reports/model.hpp"
#include "reports/stats.hpp"

namespace ctb::report {

// How the U tests of many series share alpha. With 30 series at alpha 0.05 an unchanged build
// would show a "significant" series in most comparisons; Holm's step-down procedure keeps the
// chance of any false alarm among the gated series at alpha (family-wise), and is uniformly more
// powerful than Bonferroni. `none` tests each series at alpha on its own, as compare.py does.
enum class Correction { holm, none };

struct CompareOptions {
    double alpha = 0.05;      // significance level (family-wise with Correction::holm)
    double threshold = 0.05;  // relative change of the median (0.05 = 5 %)
    Correction correction = Correction::holm;
    // Gate each series that has a baseline in both reports on its samples divided by that
    // baseline's median *in the same report*: drift of the whole host between the two runs (load,
    // frequency, a noisy neighbour) cancels. The baselines themselves are then the yardstick:
    // shown, not gated. A change that slows the yardstick too (a kernel change) needs the raw gate.
    bool normalize = false;
    // Only series whose name this regular expression (ECMAScript) finds are gated; the others are
    // compared and shown, not gated, and stay out of Holm's family. For a gate on one piece of
    // software: a runtime change gates the runtime's series, not crun's or runc's, which did not
    // change. Empty: every series.
    std::string gate;
    int resamples = 2000;     // bootstrap resamples for the ratio interval
    unsigned long long seed = stats::kBootstrapSeed;
};

enum class CaseChangeKind { regression, fixed, new_skip, skip_gone, changed };
std::string to_string(CaseChangeKind k);

struct CaseChange {
    std::string id;
    Outcome before, after;
    CaseChangeKind kind = CaseChangeKind::changed;
    std::string reason;  // the candidate's reason (why it fails or is skipped now)
    bool regression() const { return kind == CaseChangeKind::regression; }
};

enum class BenchVerdict { regression, improvement, unchanged, not_tested, yardstick, not_gated };
std::string to_string(BenchVerdict v);

struct BenchChange {
    std::string name;
    std::string unit;
    bool higher_is_better = false;
    double before = 0, after = 0;  // medians of the samples
    double change = 0;             // after / before - 1 (the raw relative change)
    double worse_by = 0;           // change signed so that positive is worse for this unit
    stats::RatioInterval ratio;    // after / before with its bootstrap interval
    stats::UTest u;
    double p_adjusted = 1;  // p after the family-wise correction (equal to u.p_value with none)
    std::string normalized_by;  // baseline series the samples were divided by ("" when raw)
    bool normalized_per_round = false;  // divided sample by sample (both sampled in rounds), not by its median
    std::size_t n_before = 0, n_after = 0;
    bool significant = false;       // p_adjusted < alpha
    bool beyond_threshold = false;  // |worse_by| > threshold
    BenchVerdict verdict = BenchVerdict::unchanged;
    std::vector<std::string> warnings;
    bool regression() const { return verdict == BenchVerdict::regression; }
};

struct Comparison {
    CompareOptions options;
    std::vector<CaseChange> cases;        // only cases whose outcome changed
    std::vector<BenchChange> benchmarks;  // every bench present in both
    std::vector<std::string> cases_only_before, cases_only_after;
    std::vector<std::string> benches_only_before, benches_only_after;
    std::vector<std::string> context_warnings;  // host, kernel, cgroup mode, runtime differ
    bool has_regression() const;
    int regressions() const;
};

// Units in which a larger number is better (throughput); everything else is a cost.
bool higher_is_better(const std::string& unit);

BenchChange compare_bench(const BenchResult& before, const BenchResult& after, const CompareOptions& o);
// Fails when the two reports have nothing in common to compare (no case and no bench series in
// both, or benchmarks on both sides but none shared): a gate must not answer "no regression" then.
Result<Comparison> compare(const Report& before, const Report& after, const CompareOptions& o = {});

// reports/compare_render.cpp
std::string render_comparison_text(const Comparison& c);
std::string render_comparison_markdown(const Comparison& c);
nlohmann::json comparison_json(const Comparison& c);

}  // namespace ctb::report
