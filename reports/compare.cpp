#include "reports/compare.hpp"

#include <algorithm>
#include <regex>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <optional>

namespace ctb::report {
namespace {

bool is_bad(Outcome o) { return o == Outcome::fail || o == Outcome::error; }

template <class T, class Key>
std::map<std::string, const T*> index_by(const std::vector<T>& items, Key key) {
    std::map<std::string, const T*> out;
    for (const auto& i : items) out[key(i)] = &i;
    return out;
}

CaseChangeKind classify(Outcome before, Outcome after) {
    if (is_bad(after) && !is_bad(before)) return CaseChangeKind::regression;
    if (after == Outcome::pass && is_bad(before)) return CaseChangeKind::fixed;
    if (after == Outcome::skip) return CaseChangeKind::new_skip;
    if (before == Outcome::skip) return CaseChangeKind::skip_gone;  // skip -> pass
    return CaseChangeKind::changed;                                 // fail <-> error
}

void compare_cases(const Report& before, const Report& after, Comparison& out) {
    auto id = [](const CaseResult& c) { return c.id; };
    auto b_cases = index_by(before.conformance, id), a_cases = index_by(after.conformance, id);
    for (const auto& [name, b] : b_cases) {
        auto it = a_cases.find(name);
        if (it == a_cases.end()) out.cases_only_before.push_back(name);
        else if (b->outcome != it->second->outcome)
            out.cases.push_back({name, b->outcome, it->second->outcome, classify(b->outcome, it->second->outcome),
                                 it->second->reason});
    }
    for (const auto& [name, a] : a_cases)
        if (!b_cases.count(name)) out.cases_only_after.push_back(name);
}

using BenchIndex = std::map<std::string, const BenchResult*>;

// Both sampled round by round with as many rounds: sample i of each was taken in round i.
bool paired(const BenchResult& b, const BenchResult& yardstick) {
    return b.sampled_in_rounds && yardstick.sampled_in_rounds && b.samples.size() == yardstick.samples.size() &&
           std::all_of(yardstick.samples.begin(), yardstick.samples.end(), [](double y) { return y > 0; });
}

struct Normalized {
    BenchResult series;
    bool per_round = false;  // divided pair by pair, not by the baseline's median
};

// The series divided by its baseline of the same report, or nothing when the baseline is missing
// there. Series sampled in rounds are divided pair by pair (a burst of host load that slows one
// round cancels in that round's ratio); others by the baseline's median.
std::optional<Normalized> normalized(const BenchResult& b, const BenchIndex& same_report) {
    const auto& by = b.normalized_by();
    if (!by) return std::nullopt;
    auto it = same_report.find(*by);
    if (it == same_report.end() || it->second->samples.empty()) return std::nullopt;
    const BenchResult& yardstick = *it->second;
    BenchResult n = b;
    if (paired(b, yardstick)) {
        for (std::size_t i = 0; i < n.samples.size(); ++i) n.samples[i] /= yardstick.samples[i];
        return Normalized{std::move(n), true};
    }
    double median = stats::median(yardstick.samples);
    if (median <= 0) return std::nullopt;
    for (double& x : n.samples) x /= median;
    return Normalized{std::move(n), false};
}

bool is_yardstick(const std::string& name, const Report& r) {
    return std::any_of(r.benchmarks.begin(), r.benchmarks.end(),
                       [&](const BenchResult& b) { return b.normalized_by() && *b.normalized_by() == name; });
}

BenchChange compare_pair(const BenchResult& b, const BenchResult& a, const BenchIndex& b_all, const BenchIndex& a_all,
                         const Report& after, const CompareOptions& o) {
    if (o.normalize) {
        auto nb = normalized(b, b_all), na = normalized(a, a_all);
        if (nb && na && b.normalized_by() == a.normalized_by()) {
            BenchChange c = compare_bench(nb->series, na->series, o);
            c.normalized_by = *a.normalized_by();
            c.normalized_per_round = nb->per_round && na->per_round;
            c.before = stats::median(b.samples);  // show the raw medians; change and test are on the ratios
            c.after = stats::median(a.samples);
            return c;
        }
    }
    BenchChange c = compare_bench(b, a, o);
    if (o.normalize && is_yardstick(a.name, after) && c.verdict != BenchVerdict::not_tested) {
        c.verdict = BenchVerdict::yardstick;
        c.warnings.push_back("a baseline of other series: with --normalize it is the yardstick, not gated");
    }
    return c;
}

// Holm's step-down: the k-th smallest of m p-values is compared with alpha / (m - k); the
// adjusted p is the running maximum of (m - k) p, capped at 1. Only tested, gated series count.
bool gated(const BenchChange& c) {
    return c.verdict != BenchVerdict::not_tested && c.verdict != BenchVerdict::yardstick &&
           c.verdict != BenchVerdict::not_gated;
}

void holm_adjust(std::vector<BenchChange>& changes) {
    std::vector<BenchChange*> tested;
    for (auto& c : changes)
        if (gated(c)) tested.push_back(&c);
    std::sort(tested.begin(), tested.end(), [](auto* x, auto* y) { return x->u.p_value < y->u.p_value; });
    double running = 0;
    for (std::size_t k = 0; k < tested.size(); ++k) {
        running = std::max(running, std::min(1.0, double(tested.size() - k) * tested[k]->u.p_value));
        tested[k]->p_adjusted = running;
    }
}

void decide(BenchChange& c, const CompareOptions& o) {
    if (!gated(c)) return;
    c.significant = c.p_adjusted < o.alpha;
    c.beyond_threshold = std::fabs(c.worse_by) > o.threshold;
    c.verdict = BenchVerdict::unchanged;
    if (c.significant && c.beyond_threshold) c.verdict = c.worse_by > 0 ? BenchVerdict::regression : BenchVerdict::improvement;
}

void compare_benches(const Report& before, const Report& after, const CompareOptions& o, Comparison& out) {
    auto name = [](const BenchResult& b) { return b.name; };
    auto b_benches = index_by(before.benchmarks, name), a_benches = index_by(after.benchmarks, name);
    for (const auto& [n, b] : b_benches) {
        auto it = a_benches.find(n);
        if (it == a_benches.end()) out.benches_only_before.push_back(n);
        else out.benchmarks.push_back(compare_pair(*b, *it->second, b_benches, a_benches, after, o));
    }
    if (!o.gate.empty()) {
        std::regex gate(o.gate);  // checked by the caller (the CLI names --gate when it is invalid)
        for (auto& c : out.benchmarks)
            if (gated(c) && !std::regex_search(c.name, gate)) {
                c.verdict = BenchVerdict::not_gated;
                c.significant = c.beyond_threshold = false;
                c.warnings.push_back("not gated: the name does not match --gate " + o.gate);
            }
    }
    for (const auto& [n, a] : a_benches)
        if (!b_benches.count(n)) out.benches_only_after.push_back(n);
    if (o.correction == Correction::holm) holm_adjust(out.benchmarks);
    for (auto& c : out.benchmarks) decide(c, o);
}

void context_differences(const RunMetadata& b, const RunMetadata& a, Comparison& out) {
    auto differ = [&out](const char* what, const std::string& x, const std::string& y) {
        if (x != y) out.context_warnings.push_back(fmt::format("{} differs: {} -> {}", what, x, y));
    };
    differ("host", b.hostname, a.hostname);
    differ("kernel", b.kernel, a.kernel);
    differ("cgroup mode", b.cgroup_mode, a.cgroup_mode);
    differ("runtime", b.runtime.name, a.runtime.name);
    differ("runtime version", b.runtime.version, a.runtime.version);
    if (b.host.cpus != a.host.cpus)
        out.context_warnings.push_back(fmt::format("cpus differ: {} -> {}", b.host.cpus, a.host.cpus));
}

}  // namespace

std::string to_string(CaseChangeKind k) {
    switch (k) {
        case CaseChangeKind::regression: return "regression";
        case CaseChangeKind::fixed: return "fixed";
        case CaseChangeKind::new_skip: return "new skip";
        case CaseChangeKind::skip_gone: return "skip gone";
        case CaseChangeKind::changed: break;
    }
    return "changed";
}

std::string to_string(BenchVerdict v) {
    switch (v) {
        case BenchVerdict::regression: return "regression";
        case BenchVerdict::improvement: return "improvement";
        case BenchVerdict::not_tested: return "not tested";
        case BenchVerdict::yardstick: return "yardstick (not gated)";
        case BenchVerdict::not_gated: return "not gated (--gate)";
        case BenchVerdict::unchanged: break;
    }
    return "unchanged";
}

bool higher_is_better(const std::string& unit) {
    std::string u = unit;
    std::transform(u.begin(), u.end(), u.begin(), ::tolower);
    return u.find("/s") != std::string::npos || u == "ops" || u.find("bit") != std::string::npos;
}

BenchChange compare_bench(const BenchResult& b, const BenchResult& a, const CompareOptions& o) {
    BenchChange c;
    c.name = a.name;
    c.unit = a.unit;
    c.higher_is_better = higher_is_better(a.unit);
    c.n_before = b.samples.size();
    c.n_after = a.samples.size();
    if (b.unit != a.unit) c.warnings.push_back(fmt::format("unit changed: {} -> {}", b.unit, a.unit));
    if (b.samples.empty() || a.samples.empty()) {
        c.verdict = BenchVerdict::not_tested;
        c.warnings.push_back("no samples on one side: nothing to test");
        return c;
    }
    c.before = stats::median(b.samples);
    c.after = stats::median(a.samples);
    if (c.before == 0) {
        c.verdict = BenchVerdict::not_tested;
        c.warnings.push_back("baseline median is 0: no relative change");
        return c;
    }
    c.change = c.after / c.before - 1;
    c.worse_by = c.higher_is_better ? -c.change : c.change;
    c.ratio = stats::bootstrap_median_ratio(b.samples, a.samples, 1 - o.alpha, o.resamples, o.seed);
    c.u = stats::mann_whitney_u(b.samples, a.samples);
    if (std::min(c.n_before, c.n_after) < stats::kMinUTestSamples)
        c.warnings.push_back(fmt::format("{} and {} samples: fewer than {} per side, the U test's p-value is unreliable",
                                         c.n_before, c.n_after, stats::kMinUTestSamples));
    c.p_adjusted = c.u.p_value;
    decide(c, o);  // compare() decides again after the family-wise correction
    return c;
}

bool Comparison::has_regression() const { return regressions() > 0; }

int Comparison::regressions() const {
    return int(std::count_if(cases.begin(), cases.end(), [](const CaseChange& c) { return c.regression(); }) +
               std::count_if(benchmarks.begin(), benchmarks.end(), [](const BenchChange& b) { return b.regression(); }));
}

Result<Comparison> compare(const Report& before, const Report& after, const CompareOptions& o) {
    Comparison out;
    out.options = o;
    compare_cases(before, after, out);
    compare_benches(before, after, o, out);
    context_differences(before.run, after.run, out);
    std::size_t common_cases = before.conformance.size() - out.cases_only_before.size();
    if (!before.benchmarks.empty() && !after.benchmarks.empty() && out.benchmarks.empty())
        return fail(plain_error("compare", "benchmarks", "the two reports have no benchmark series in common"));
    if (common_cases == 0 && out.benchmarks.empty())
        return fail(plain_error("compare", "reports", "no conformance case and no benchmark in common: nothing to compare"));
    return out;
}

}  // namespace ctb::report
