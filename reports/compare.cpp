#include "reports/compare.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace ctb::report {
namespace {

bool is_bad(Outcome o) { return o == Outcome::fail || o == Outcome::error; }

template <class T, class Key>
std::map<std::string, const T*> index_by(const std::vector<T>& items, Key key) {
    std::map<std::string, const T*> out;
    for (const auto& i : items) out[key(i)] = &i;
    return out;
}

BenchChange bench_change(const BenchResult& b, const BenchResult& a, double threshold) {
    BenchChange c{a.name, a.unit, b.median, a.median};
    if (b.median != 0) c.change = a.median / b.median - 1;
    if (higher_is_better(a.unit)) c.change = -c.change;
    c.intervals_overlap = !(a.ci.low > b.ci.high || a.ci.high < b.ci.low);
    c.regression = c.change > threshold && !c.intervals_overlap;
    return c;
}

}  // namespace

bool higher_is_better(const std::string& unit) {
    std::string u = unit;
    std::transform(u.begin(), u.end(), u.begin(), ::tolower);
    return u.find("/s") != std::string::npos || u == "ops" || u.find("bit") != std::string::npos;
}

bool Comparison::has_regression() const {
    return std::any_of(cases.begin(), cases.end(), [](const CaseChange& c) { return c.regression; }) ||
           std::any_of(benchmarks.begin(), benchmarks.end(), [](const BenchChange& b) { return b.regression; });
}

Comparison compare(const Report& before, const Report& after, double threshold) {
    Comparison out;
    auto case_id = [](const CaseResult& c) { return c.id; };
    auto bench_name = [](const BenchResult& b) { return b.name; };
    auto b_cases = index_by(before.conformance, case_id), a_cases = index_by(after.conformance, case_id);
    for (const auto& [id, b] : b_cases) {
        auto it = a_cases.find(id);
        if (it == a_cases.end()) {
            out.only_before.push_back(id);
            continue;
        }
        if (b->outcome != it->second->outcome)
            out.cases.push_back({id, b->outcome, it->second->outcome, b->outcome == Outcome::pass && is_bad(it->second->outcome)});
    }
    for (const auto& [id, a] : a_cases)
        if (!b_cases.count(id)) out.only_after.push_back(id);
    auto b_benches = index_by(before.benchmarks, bench_name), a_benches = index_by(after.benchmarks, bench_name);
    for (const auto& [name, b] : b_benches) {
        auto it = a_benches.find(name);
        if (it == a_benches.end()) out.only_before.push_back(name);
        else out.benchmarks.push_back(bench_change(*b, *it->second, threshold));
    }
    for (const auto& [name, a] : a_benches)
        if (!b_benches.count(name)) out.only_after.push_back(name);
    return out;
}

std::string render_comparison(const Comparison& c, double threshold) {
    std::string out;
    for (const auto& x : c.cases)
        out += fmt::format("{} {}: {} -> {}\n", x.regression ? "REGRESSION" : "changed   ", x.id, to_string(x.before),
                           to_string(x.after));
    for (const auto& b : c.benchmarks)
        out += fmt::format("{} {}: {:.1f} -> {:.1f} {} ({:+.1f}% {}, CIs {})\n", b.regression ? "REGRESSION" : "          ",
                           b.name, b.before, b.after, b.unit, b.change * 100, "worse", b.intervals_overlap ? "overlap" : "apart");
    for (const auto& id : c.only_before) out += fmt::format("missing    {}\n", id);
    for (const auto& id : c.only_after) out += fmt::format("new        {}\n", id);
    out += fmt::format("{} (threshold {:.1f}%)\n", c.has_regression() ? "regressions found" : "no regression",
                       threshold * 100);
    return out;
}

nlohmann::json comparison_json(const Comparison& c, double threshold) {
    nlohmann::json j = {{"threshold", threshold}, {"regression", c.has_regression()}, {"cases", nlohmann::json::array()},
                        {"benchmarks", nlohmann::json::array()}, {"only_before", c.only_before}, {"only_after", c.only_after}};
    for (const auto& x : c.cases)
        j["cases"].push_back({{"id", x.id}, {"before", to_string(x.before)}, {"after", to_string(x.after)},
                              {"regression", x.regression}});
    for (const auto& b : c.benchmarks)
        j["benchmarks"].push_back({{"name", b.name}, {"unit", b.unit}, {"before", b.before}, {"after", b.after},
                                   {"change", b.change}, {"intervals_overlap", b.intervals_overlap},
                                   {"regression", b.regression}});
    return j;
}

}  // namespace ctb::report
