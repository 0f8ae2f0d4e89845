// Comparison of two reports (a baseline run and a candidate run) for regression gating.
// Conformance: a case that passed before and now fails or errors is a regression. Benchmarks: a
// median that moved the wrong way by more than the threshold, *and* whose confidence intervals do
// not overlap (so noise alone cannot trip the gate).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reports/model.hpp"

namespace ctb::report {

struct CaseChange {
    std::string id;
    Outcome before, after;
    bool regression = false;
};

struct BenchChange {
    std::string name;
    std::string unit;
    double before = 0, after = 0;
    double change = 0;  // after / before - 1, signed so that positive means worse
    bool intervals_overlap = true;
    bool regression = false;
};

struct Comparison {
    std::vector<CaseChange> cases;         // only cases whose outcome changed
    std::vector<BenchChange> benchmarks;   // every bench present in both
    std::vector<std::string> only_before;  // cases/benches that vanished
    std::vector<std::string> only_after;
    bool has_regression() const;
};

// Units in which a larger number is better (throughput); everything else is a cost.
bool higher_is_better(const std::string& unit);

Comparison compare(const Report& before, const Report& after, double threshold);
std::string render_comparison(const Comparison& c, double threshold);
nlohmann::json comparison_json(const Comparison& c, double threshold);

}  // namespace ctb::report
