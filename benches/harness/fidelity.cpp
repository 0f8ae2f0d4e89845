#include "benches/harness/fidelity.hpp"

#include <cmath>
#include <fmt/format.h>

#include "reports/stats.hpp"

namespace ctb::bench {

Result<PairedRatio> paired_ratio(const std::vector<double>& ours, const std::vector<double>& theirs, double level) {
    if (ours.empty() || ours.size() != theirs.size())
        return fail(plain_error("pair fidelity samples", "rounds",
                                fmt::format("{} engine samples against {} tool samples", ours.size(), theirs.size())));
    PairedRatio out;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        for (auto [side, v] : {std::pair{"engine", ours[i]}, std::pair{"tool", theirs[i]}})
            if (!std::isfinite(v) || v <= 0)
                return fail(plain_error("pair fidelity samples", fmt::format("{} sample of round {}", side, i),
                                        fmt::format("not a positive number: {}", v)));
        out.per_round.push_back(ours[i] / theirs[i]);
    }
    out.ratio = stats::median(out.per_round);
    auto ci = stats::median_interval(out.per_round, level);
    out.low = ci.low;
    out.high = ci.high;
    out.coverage = ci.coverage;
    return out;
}

// The bounds themselves meet the target (|0.95 - 1| is 0.05000000000000004 in doubles).
bool FidelityTarget::met(double ratio) const {
    constexpr double kSlack = 1e-12;
    return latency ? std::abs(ratio - 1.0) <= 0.05 + kSlack : ratio >= 0.95 - kSlack;
}

std::string FidelityTarget::describe() const { return latency ? "within 5 %" : ">= 0.95x"; }

nlohmann::json fidelity_rounds_context(const PairedRatio& r, const FidelityTarget& t) {
    return {{"rounds", r.per_round.size()},
            {"per_round_ratios", r.per_round},
            {"ratio", r.ratio},
            {"ci_low", r.low},
            {"ci_high", r.high},
            {"ci_coverage", r.coverage},
            {"target", t.describe()},
            {"target_met", t.met(r.ratio)},
            {"ci_within_target", t.met(r.low) && t.met(r.high)},
            {"how", "median of per-round ratios (engine sample / tool sample taken back to back in the same round, "
                    "order alternating), distribution-free interval of that median"}};
}

}  // namespace ctb::bench
