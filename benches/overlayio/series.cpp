#include "benches/overlayio/series.hpp"

#include <cmath>

#include "benches/harness/fidelity.hpp"
#include "benches/harness/measure.hpp"

namespace ctb::bench::overlayio {

Result<std::vector<double>> positive_samples(const nlohmann::json& doc, const std::string& key) {
    if (!doc.contains(key) || !doc[key].is_array() || doc[key].empty())
        return fail(plain_error("read engine output", key, "missing or empty"));
    std::vector<double> out;
    for (const auto& v : doc[key]) {
        if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() <= 0)
            return fail(plain_error("read engine output", key, "not a positive number: " + v.dump()));
        out.push_back(v.get<double>());
    }
    return out;
}

report::BenchResult series(const std::string& name, const std::string& unit, std::vector<double> samples,
                           nlohmann::json context) {
    auto r = make_result(name, std::move(samples), std::move(context));
    r.unit = unit;
    return r;
}

bool meets_target(const FidelityFigure& f) { return FidelityTarget{f.latency}.met(f.ratio); }

void set_fidelity(report::BenchResult& r, const FidelityFigure& f) {
    r.fidelity = report::Fidelity{f.tool, f.tool_version, f.metric, f.ratio};
    r.context["fidelity_target_met"] = meets_target(f);
}

void set_fidelity_skipped(report::BenchResult& r, const std::string& reason) {
    r.context["fidelity_skipped"] = reason;
}

}  // namespace ctb::bench::overlayio
