// Turning the engine's JSON into report series: units, samples, ratios against the bare series,
// and fidelity against fio on the bare series.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "reports/model.hpp"

namespace ctb::bench::overlayio {

// Every number of `doc[key]` (an array); an Error names the key when it is missing, empty or
// holds a value that is not a positive number (a zero throughput is a broken run, not a figure).
Result<std::vector<double>> positive_samples(const nlohmann::json& doc, const std::string& key);

// BenchResult with `unit` (make_result fills median, CI and the statistics).
report::BenchResult series(const std::string& name, const std::string& unit, std::vector<double> samples,
                           nlohmann::json context);

// ctbench's figure against the tool's: ratio = ours / theirs (1.0 equal; for a throughput > 1
// means ctbench measured more). `ok` says whether it meets the target of the issue
// (throughput >= 0.95, latency within 5 %).
struct FidelityFigure {
    std::string tool, tool_version, metric;
    double ratio = 0;
    bool latency = false;
};
bool meets_target(const FidelityFigure& f);
void set_fidelity(report::BenchResult& r, const FidelityFigure& f);
// The series has no fidelity figure: why (fio missing, fio failed).
void set_fidelity_skipped(report::BenchResult& r, const std::string& reason);

}  // namespace ctb::bench::overlayio
